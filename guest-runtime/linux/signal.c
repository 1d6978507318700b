/* SPDX-License-Identifier: MIT */
/*
 * Signal state, as Linux keeps it: the process's actions, each thread's
 * mask and alternate stack.  glibc and SBCL set these up at start; the
 * calls answer exactly as Linux does.  Delivery (handlers run on faults,
 * kill, timers) comes with the threads-and-signals issue: until then a
 * fault ends the program as an unhandled one would.
 */
#include <asm/signal.h>
#include <errno.h>
#include <linux/signal.h>
#include <string.h>

#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define SIG_BIT(sig)  (1ull << ((sig)-1))
#define UNBLOCKABLE   (SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))
#define KERNEL_SIGSET sizeof(uint64_t)

SYSCALL_DEFINE(rt_sigaction)
{
	struct process *p = current_process();
	int sig = (int)a0;
	struct sigaction act;

	if (a3 != KERNEL_SIGSET || sig < 1 || sig > SIGNAL_COUNT)
		return -EINVAL;
	if (a1 && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (a1 && copy_from_user(&act, a1, sizeof(act)) < 0)
		return -EFAULT;
	if (a2 && copy_to_user(a2, &p->actions[sig - 1], sizeof(act)) < 0)
		return -EFAULT;
	if (a1) {
		act.sa_mask &= ~UNBLOCKABLE;
		p->actions[sig - 1] = act;
	}
	return 0;
}

SYSCALL_DEFINE(rt_sigprocmask)
{
	struct thread *t = current_thread();
	uint64_t set;

	if (a3 != KERNEL_SIGSET)
		return -EINVAL;
	if (a1 && copy_from_user(&set, a1, sizeof(set)) < 0)
		return -EFAULT;
	if (a2 && copy_to_user(a2, &t->sigmask, sizeof(t->sigmask)) < 0)
		return -EFAULT;
	if (a1 == 0)
		return 0;
	switch (a0) {
	case SIG_BLOCK:
		t->sigmask |= set;
		break;
	case SIG_UNBLOCK:
		t->sigmask &= ~set;
		break;
	case SIG_SETMASK:
		t->sigmask = set;
		break;
	default:
		return -EINVAL;
	}
	t->sigmask &= ~UNBLOCKABLE;
	return 0;
}

/* Nothing is ever pending before delivery exists. */
SYSCALL_DEFINE(rt_sigpending)
{
	uint64_t none = 0;

	if (a1 > KERNEL_SIGSET)
		return -EINVAL;
	return copy_to_user(a0, &none, a1);
}

SYSCALL_DEFINE(sigaltstack)
{
	struct thread *t = current_thread();
	stack_t ss;

	if (a0 && copy_from_user(&ss, a0, sizeof(ss)) < 0)
		return -EFAULT;
	if (a1 && copy_to_user(a1, &t->altstack, sizeof(t->altstack)) < 0)
		return -EFAULT;
	if (a0 == 0)
		return 0;
	if ((ss.ss_flags & ~(int)SS_FLAG_BITS) != 0 &&
	    (ss.ss_flags & ~(int)SS_FLAG_BITS) != SS_DISABLE)
		return -EINVAL;
	if ((ss.ss_flags & ~(int)SS_FLAG_BITS) == SS_DISABLE) {
		t->altstack = (stack_t){.ss_flags = SS_DISABLE};
		return 0;
	}
	if (ss.ss_size < MINSIGSTKSZ)
		return -ENOMEM;
	t->altstack = ss;
	return 0;
}
