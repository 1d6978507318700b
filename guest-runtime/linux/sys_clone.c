/* SPDX-License-Identifier: MIT */
/*
 * clone and clone3 for threads (the flags glibc's pthread_create uses),
 * thread exit with the clear-child-tid futex wake, sched_yield.  A new
 * process (fork, vfork, clone without CLONE_VM|CLONE_THREAD...) does not
 * exist in one address space: ENOSYS.
 */
#include <errno.h>
#include <linux/futex.h>
#include <linux/sched.h>

#include "kernel/entropy.h"
#include "kernel/printk.h"
#include "linux/futex_queue.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/snapshot_point.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define KNOWN_FLAGS                                                                                \
	(THREAD_FLAGS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |                       \
	 CLONE_CHILD_CLEARTID | CLONE_DETACHED)

/* glibc's thread control block on x86-64 (tcbhead_t): its first word and
 * `self` point at it, and the stack protector's canary is at 0x28, where
 * GCC's -fstack-protector reads %fs:0x28. */
#define TCB_TCB		0x00
#define TCB_SELF	0x10
#define TCB_STACK_GUARD 0x28

static int read_user_word(uint64_t addr, uint64_t *word)
{
	return copy_from_user(word, addr, sizeof(*word));
}

/*
 * Copies of one process restored from a snapshot share the canary glibc
 * drew from AT_RANDOM at its start, and pthread_create copies it into
 * each new thread: a canary leaked by one copy would hold in all.  A new
 * thread has no frame yet, so in a restored VM it gets a canary of its
 * own.  Only a TCB that is glibc's (it points at itself) and carries the
 * creator's canary is changed; the pointer guard stays, since pointers
 * one thread mangles another demangles.
 */
static void renew_stack_guard(uint64_t tls)
{
	uint64_t tcb, self, guard, creators;

	/* The creator's own TCB is in use: its frames hold its canary. */
	if (tls == current_thread()->fs_base)
		return;
	if (read_user_word(tls + TCB_TCB, &tcb) < 0 || read_user_word(tls + TCB_SELF, &self) < 0 ||
	    read_user_word(tls + TCB_STACK_GUARD, &guard) < 0 ||
	    read_user_word(current_thread()->fs_base + TCB_STACK_GUARD, &creators) < 0)
		return;
	if (tcb != tls || self != tls || guard != creators)
		return;
	if (entropy_fill(&guard, sizeof(guard)) < 0)
		return;
	guard &= ~(uint64_t)0xff; /* as glibc: a zero byte ends string overreads */
	(void)copy_to_user(tls + TCB_STACK_GUARD, &guard, sizeof(guard));
}

static int64_t new_thread(uint64_t flags, uint64_t stack, uint64_t parent_tid, uint64_t child_tid,
			  uint64_t tls)
{
	static bool said;
	struct thread *t;

	/* Combinations Linux refuses before it would make anything. */
	if (((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) ||
	    ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)))
		return -EINVAL;
	if ((flags & THREAD_FLAGS) != THREAD_FLAGS) {
		if (!said) {
			said = true;
			printk("lispvm: %s: no new processes in one address space (clone "
			       "without CLONE_VM|CLONE_THREAD): ENOSYS\n",
			       current_process()->exe);
		}
		return -ENOSYS;
	}
	if (flags & ~(uint64_t)KNOWN_FLAGS)
		return -EINVAL;
	if ((flags & CLONE_SETTLS) && snapshot_point_was_restored())
		renew_stack_guard(tls);
	t = sched_spawn(syscall_frame(), stack, tls, flags & CLONE_SETTLS);
	if (t == NULL)
		return -EAGAIN;
	if (flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = child_tid;
	if ((flags & CLONE_PARENT_SETTID) && copy_to_user(parent_tid, &t->tid, sizeof(int)) < 0)
		return -EFAULT;
	return t->tid;
}

/* x86-64 order: flags, stack, parent_tid, child_tid, tls. */
SYSCALL_DEFINE(clone)
{
	return new_thread(a0 & ~(uint64_t)CSIGNAL, a1, a2, a3, a4);
}

SYSCALL_DEFINE(clone3)
{
	struct clone_args args = {0};

	if (a1 < CLONE_ARGS_SIZE_VER0 || a1 > sizeof(args) + 4096)
		return -EINVAL;
	if (copy_from_user(&args, a0, a1 < sizeof(args) ? a1 : sizeof(args)) < 0)
		return -EFAULT;
	if (args.exit_signal != 0 && (args.flags & THREAD_FLAGS) == THREAD_FLAGS)
		return -EINVAL;
	if ((args.stack == 0) != (args.stack_size == 0))
		return -EINVAL;
	return new_thread(args.flags, args.stack ? args.stack + args.stack_size : 0,
			  args.parent_tid, args.child_tid, args.tls);
}

/* Linux's walk of a dying thread's robust-futex list: every lock it
 * still holds is marked FUTEX_OWNER_DIED and one waiter woken, so the
 * next locker gets EOWNERDEAD instead of waiting forever. */
#define ROBUST_LIST_LIMIT 2048

static void release_robust_futex(struct thread *t, uint64_t entry, int64_t offset)
{
	uint64_t uaddr = entry + (uint64_t)offset;
	uint32_t word, next;

	if ((uaddr & 3) || copy_from_user(&word, uaddr, sizeof(word)) < 0)
		return;
	if ((word & FUTEX_TID_MASK) != (uint32_t)t->tid)
		return;
	next = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
	if (copy_to_user(uaddr, &next, sizeof(next)) == 0 && (word & FUTEX_WAITERS))
		futex_wake_address(uaddr, 1, FUTEX_BITSET_MATCH_ANY);
}

static void release_robust_list(struct thread *t)
{
	struct robust_list_head head;
	uint64_t entry;

	if (t->robust_list == 0 || t->robust_list_len != sizeof(head) ||
	    copy_from_user(&head, t->robust_list, sizeof(head)) < 0)
		return;
	entry = (uint64_t)head.list.next;
	for (int n = 0; entry != t->robust_list && n < ROBUST_LIST_LIMIT; n++) {
		uint64_t next;

		/* Read the link first: waking may let another thread reuse it. */
		if (copy_from_user(&next, entry, sizeof(next)) < 0)
			return;
		if (entry != (uint64_t)head.list_op_pending)
			release_robust_futex(t, entry, head.futex_offset);
		entry = next;
	}
	if (head.list_op_pending)
		release_robust_futex(t, (uint64_t)head.list_op_pending, head.futex_offset);
}

/* The thread ends: the robust futexes it holds are released, then
 * CLONE_CHILD_CLEARTID's word is zeroed and one waiter woken
 * (pthread_join waits on it).  The last thread ends the process. */
SYSCALL_DEFINE(exit)
{
	struct thread *t = current_thread();
	int zero = 0;

	release_robust_list(t);
	if (t->clear_child_tid && copy_to_user(t->clear_child_tid, &zero, sizeof(zero)) == 0)
		futex_wake_address(t->clear_child_tid, 1, FUTEX_BITSET_MATCH_ANY);
	sched_exit_thread((int)((a0 & 0xff) << 8));
}

SYSCALL_DEFINE(sched_yield)
{
	sched_yield_now();
	return 0;
}
