/* SPDX-License-Identifier: MIT */
/*
 * setitimer, getitimer, alarm: ITIMER_REAL sends SIGALRM, _VIRTUAL
 * SIGVTALRM, _PROF SIGPROF.  All three count on CLOCK_MONOTONIC: the
 * guest runs one process, so its CPU time is close to its wall time (the
 * same approximation CLOCK_PROCESS_CPUTIME_ID makes).  Expiries are
 * checked by the scheduler, on every timer tick and when it idles.
 */
#include "linux/itimer.h"

#include <asm/siginfo.h>
#include <asm/signal.h>
#include <errno.h>
#include <linux/time.h>
#include <linux/time_types.h>

#include "kernel/clock.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

static const int itimer_signal[3] = {SIGALRM, SIGVTALRM, SIGPROF};

void itimers_check(uint64_t now)
{
	struct process *p = current_process();

	for (int i = 0; i < 3; i++) {
		if (p->itimers[i].deadline == 0 || p->itimers[i].deadline > now)
			continue;
		p->itimers[i].deadline = p->itimers[i].interval ? now + p->itimers[i].interval : 0;
		signal_send_process(itimer_signal[i], SI_KERNEL);
	}
}

uint64_t itimers_next(void)
{
	struct process *p = current_process();
	uint64_t next = NO_DEADLINE;

	for (int i = 0; i < 3; i++)
		if (p->itimers[i].deadline && p->itimers[i].deadline < next)
			next = p->itimers[i].deadline;
	return next;
}

static uint64_t tv_ns(const struct __kernel_old_timeval *tv)
{
	return (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * 1000;
}

static struct __kernel_old_timeval ns_tv(uint64_t ns)
{
	/* A nonzero remainder never reads as 0 (that would mean disarmed). */
	uint64_t us = (ns + 999) / 1000;

	return (struct __kernel_old_timeval){.tv_sec = (long)(us / 1000000),
					     .tv_usec = (long)(us % 1000000)};
}

static struct __kernel_old_itimerval current_value(int which)
{
	struct process *p = current_process();
	uint64_t now = clock_monotonic_ns(), d = p->itimers[which].deadline;

	return (struct __kernel_old_itimerval){
		.it_interval = ns_tv(p->itimers[which].interval),
		.it_value = ns_tv(d > now ? d - now : (d ? 1 : 0)),
	};
}

SYSCALL_DEFINE(getitimer)
{
	struct __kernel_old_itimerval v;

	if (a0 > 2)
		return -EINVAL;
	v = current_value((int)a0);
	return copy_to_user(a1, &v, sizeof(v));
}

SYSCALL_DEFINE(setitimer)
{
	struct process *p = current_process();
	struct __kernel_old_itimerval v, old;
	int which = (int)a0;

	if (a0 > 2)
		return -EINVAL;
	if (a1 && copy_from_user(&v, a1, sizeof(v)) < 0)
		return -EFAULT;
	if (a1 && (v.it_value.tv_sec < 0 || v.it_value.tv_usec < 0 ||
		   v.it_value.tv_usec >= 1000000 || v.it_interval.tv_sec < 0 ||
		   v.it_interval.tv_usec < 0 || v.it_interval.tv_usec >= 1000000))
		return -EINVAL;
	old = current_value(which);
	if (a2 && copy_to_user(a2, &old, sizeof(old)) < 0)
		return -EFAULT;
	if (a1) {
		uint64_t value = tv_ns(&v.it_value);

		p->itimers[which].deadline = value ? clock_monotonic_ns() + value : 0;
		p->itimers[which].interval = tv_ns(&v.it_interval);
	}
	return 0;
}

/* alarm(seconds): the seconds left of the previous one, rounded. */
SYSCALL_DEFINE(alarm)
{
	struct process *p = current_process();
	uint64_t now = clock_monotonic_ns(), d = p->itimers[0].deadline;
	uint64_t left = d > now ? (d - now + NSEC_PER_SEC / 2) / NSEC_PER_SEC : 0;

	if (d > now && left == 0)
		left = 1;
	p->itimers[0].deadline = a0 ? now + (uint64_t)(unsigned int)a0 * NSEC_PER_SEC : 0;
	p->itimers[0].interval = 0;
	return (int64_t)left;
}
