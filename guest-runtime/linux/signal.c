/* SPDX-License-Identifier: MIT */
/*
 * Signal state, as Linux keeps it: the process's actions, each thread's
 * mask, alternate stack and pending set, and the calls that send signals
 * to the one process (kill, tgkill, tkill).  Delivery is in
 * signal_frame.c: faults at once, sent signals on the way back from the
 * system call.  Timers (setitimer, alarm) come with the scheduler.
 */
#include <asm/siginfo.h>
#include <asm/signal.h>
#include <errno.h>
#include <linux/signal.h>
#include <linux/time_types.h>
#include <stdbool.h>
#include <string.h>

#include "kernel/clock.h"
#include "linux/clocks.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
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

SYSCALL_DEFINE(rt_sigpending)
{
	if (a1 > KERNEL_SIGSET)
		return -EINVAL;
	return copy_to_user(a0, &current_thread()->pending, a1);
}

/* Queues info's signal for thread t (a signal does not queue twice);
 * false when it was pending already.  It is delivered on the way back to
 * the program. */
static bool queue_signal(struct thread *t, const siginfo_t *info)
{
	int sig = info->si_signo;

	if (t->pending & SIG_BIT(sig))
		return false;
	t->pending |= SIG_BIT(sig);
	t->pending_info[sig - 1] = *info;
	return true;
}

/* The siginfo of a signal the process sent itself (or the kernel sent). */
static siginfo_t sent_info(int sig, int code)
{
	siginfo_t info = {.si_signo = sig, .si_code = code};

	info._sifields._kill._pid = current_process()->pid;
	info._sifields._kill._uid = 0;
	return info;
}

/* As Linux: a signal ends a wait only if it will do something there (a
 * handler or termination, not blocked) or rt_sigtimedwait waits for it.
 * A blocked or ignored one leaves a sleep or a read alone. */
static void wake_for_signal(struct thread *t, int sig)
{
	if ((t->sigwait_set & SIG_BIT(sig)) ||
	    (!(t->sigmask & SIG_BIT(sig)) && !signal_is_ignored(t, sig)))
		sched_wake(t, -EINTR);
}

/* The thread that takes a signal sent to the process. */
static struct thread *process_target(int sig)
{
	struct thread *target = NULL;

	/* Linux gives a process-directed signal to a thread that does not
	 * block it, if there is one. */
	for (struct thread *t = sched_threads(); t; t = t->next) {
		if (t->state == THREAD_DEAD)
			continue;
		if (target == NULL ||
		    (!(t->sigmask & SIG_BIT(sig)) && (target->sigmask & SIG_BIT(sig))))
			target = t;
	}
	return target;
}

bool signal_send_info(struct thread *target, const siginfo_t *info)
{
	int sig = info->si_signo;
	bool queued;

	if (target == NULL)
		target = process_target(sig);
	if (target == NULL)
		return false;
	queued = queue_signal(target, info);
	wake_for_signal(target, sig);
	return queued;
}

void signal_send_process(int sig, int code)
{
	siginfo_t info = sent_info(sig, code);

	signal_send_info(NULL, &info);
}

/* Sends sig to t (NULL: no such thread); a blocked thread wakes with
 * EINTR to take it on its way back. */
static int64_t signal_to(bool pid_ok, struct thread *t, uint64_t sig, int code)
{
	if (sig > SIGNAL_COUNT)
		return -EINVAL;
	if (!pid_ok || t == NULL)
		return -ESRCH;
	if (sig != 0) {
		siginfo_t info = sent_info((int)sig, code);

		signal_send_info(t, &info);
	}
	return 0;
}

/* One process: pid 0, -1 and its own pid name it; the calling thread
 * takes a signal sent to the process. */
SYSCALL_DEFINE(kill)
{
	int pid = (int)a0;

	return signal_to(pid == 0 || pid == -1 || pid == current_process()->pid, current_thread(),
			 a1, SI_USER);
}

SYSCALL_DEFINE(tgkill)
{
	if ((int)a0 <= 0 || (int)a1 <= 0)
		return -EINVAL;
	return signal_to((int)a0 == current_process()->pid, sched_find((int)a1), a2, SI_TKILL);
}

SYSCALL_DEFINE(tkill)
{
	if ((int)a0 <= 0)
		return -EINVAL;
	return signal_to(true, sched_find((int)a0), a1, SI_TKILL);
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

int signal_mask_for_wait(uint64_t umask, uint64_t size)
{
	struct thread *t = current_thread();
	uint64_t mask;

	if (umask == 0)
		return 0;
	if (size != KERNEL_SIGSET)
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)) < 0)
		return -EFAULT;
	t->saved_sigmask = t->sigmask;
	t->has_saved_sigmask = true;
	t->sigmask = mask & ~UNBLOCKABLE;
	return 0;
}

bool signal_wanted_pending(void)
{
	struct thread *t = current_thread();

	return (t->pending & ~t->sigmask) != 0;
}

/* Waits, with mask as the signal mask, until a signal is delivered; its
 * handler returns to the caller with the old mask back.  Always -EINTR. */
SYSCALL_DEFINE(rt_sigsuspend)
{
	int rc;

	if (a0 == 0)
		return -EFAULT; /* the mask is not optional here */
	if ((rc = signal_mask_for_wait(a0, a1)) < 0)
		return rc;
	while (!signal_wanted_pending())
		sched_block(NO_DEADLINE);
	return -EINTR;
}

/* Takes a pending signal of set without running its handler, waiting up
 * to the timeout for one: its number, or -EAGAIN when the time is up. */
SYSCALL_DEFINE(rt_sigtimedwait)
{
	struct thread *t = current_thread();
	struct __kernel_timespec ts;
	uint64_t set, deadline = NO_DEADLINE;
	int64_t rc;

	if (a3 != KERNEL_SIGSET)
		return -EINVAL;
	if (copy_from_user(&set, a0, sizeof(set)) < 0)
		return -EFAULT;
	set &= ~UNBLOCKABLE;
	if (a2) {
		if (copy_from_user(&ts, a2, sizeof(ts)) < 0)
			return -EFAULT;
		if (!timespec_valid(&ts))
			return -EINVAL;
		deadline = clock_monotonic_ns() + (uint64_t)ts.tv_sec * NSEC_PER_SEC +
			   (uint64_t)ts.tv_nsec;
	}
	for (;;) {
		uint64_t ready = t->pending & set;

		if (ready) {
			int sig = __builtin_ctzll(ready) + 1;

			t->pending &= ~SIG_BIT(sig);
			if (a1 &&
			    copy_to_user(a1, &t->pending_info[sig - 1], sizeof(siginfo_t)) < 0)
				return -EFAULT;
			return sig;
		}
		if (t->pending & ~t->sigmask)
			return -EINTR; /* another signal arrived: its handler runs */
		t->sigwait_set = set;
		rc = sched_block(deadline);
		t->sigwait_set = 0;
		if (rc == -ETIMEDOUT)
			return -EAGAIN;
	}
}

/* Waits until a signal is delivered (its handler returns to -EINTR). */
SYSCALL_DEFINE(pause)
{
	struct thread *t = current_thread();

	while (!(t->pending & ~t->sigmask))
		sched_block(NO_DEADLINE);
	return -EINTR;
}
