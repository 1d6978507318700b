/* SPDX-License-Identifier: MIT */
/*
 * timer_create and friends: per-process timers on any clock the program
 * can read, which signal the process (SIGEV_SIGNAL), one thread
 * (SIGEV_THREAD_ID, which glibc's SIGEV_THREAD is built on) or nobody
 * (SIGEV_NONE).  Every timer counts on CLOCK_MONOTONIC once armed, as the
 * interval timers do: a settime on CLOCK_REALTIME is converted when it is
 * made.  The scheduler checks expiries on every tick and when it idles.
 */
#include "linux/posix_timer.h"

#include <asm/siginfo.h>
#include <errno.h>
#include <linux/time.h>
#include <linux/time_types.h>

#include "kernel/clock.h"
#include "linux/clocks.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

static struct posix_timer *timer_by_id(uint64_t id)
{
	struct process *p = current_process();

	if (id >= POSIX_TIMER_MAX || !p->posix_timers[id].used)
		return NULL;
	return &p->posix_timers[id];
}

static void fire(struct posix_timer *t, int id, uint64_t missed)
{
	siginfo_t info = {.si_signo = t->signo, .si_code = SI_TIMER};
	struct thread *target = NULL;

	if (t->notify == SIGEV_NONE)
		return;
	if (t->notify == SIGEV_THREAD_ID && (target = sched_find(t->target_tid)) == NULL)
		return; /* its thread has exited */
	info._sifields._timer._tid = id;
	info._sifields._timer._overrun = (int)missed;
	info._sifields._timer._sigval = t->value;
	/* A signal still pending from the last expiry counts this one as
	 * an overrun, as on Linux. */
	if (signal_send_info(target, &info))
		t->overrun = (int)missed;
	else
		t->overrun += (int)missed + 1;
}

void posix_timers_check(uint64_t now)
{
	struct process *p = current_process();

	if (now < p->posix_timers_due)
		return;
	for (int id = 0; id < POSIX_TIMER_MAX; id++) {
		struct posix_timer *t = &p->posix_timers[id];
		uint64_t missed = 0;

		if (!t->used || t->deadline == 0 || t->deadline > now)
			continue;
		if (t->interval) {
			missed = (now - t->deadline) / t->interval;
			t->deadline += (missed + 1) * t->interval;
		} else {
			t->deadline = 0;
		}
		fire(t, id, missed);
	}
	p->posix_timers_due = posix_timers_next();
}

uint64_t posix_timers_next(void)
{
	struct process *p = current_process();
	uint64_t next = NO_DEADLINE;

	for (int id = 0; id < POSIX_TIMER_MAX; id++)
		if (p->posix_timers[id].used && p->posix_timers[id].deadline &&
		    p->posix_timers[id].deadline < next)
			next = p->posix_timers[id].deadline;
	return next;
}

static int read_sigevent(uint64_t usev, int id, struct posix_timer *t)
{
	sigevent_t ev;

	if (usev == 0) {
		t->notify = SIGEV_SIGNAL;
		t->signo = SIGALRM;
		t->value.sival_int = id;
		return 0;
	}
	if (copy_from_user(&ev, usev, sizeof(ev)) < 0)
		return -EFAULT;
	t->notify = ev.sigev_notify;
	t->signo = ev.sigev_signo;
	t->value = ev.sigev_value;
	if (t->notify == SIGEV_NONE)
		return 0;
	if (t->notify != SIGEV_SIGNAL && t->notify != SIGEV_THREAD_ID)
		return -EINVAL; /* SIGEV_THREAD is glibc's, never the kernel's */
	if (t->signo < 1 || t->signo > SIGNAL_COUNT)
		return -EINVAL;
	if (t->notify == SIGEV_THREAD_ID) {
		t->target_tid = ev._sigev_un._tid;
		if (sched_find(t->target_tid) == NULL)
			return -EINVAL;
	}
	return 0;
}

SYSCALL_DEFINE(timer_create)
{
	struct process *p = current_process();
	struct posix_timer fresh = {.used = true};
	uint64_t now;
	int id, rc;

	if (clock_id_now(a0, &now) < 0)
		return -EINVAL;
	for (id = 0; id < POSIX_TIMER_MAX && p->posix_timers[id].used; id++)
		;
	if (id == POSIX_TIMER_MAX)
		return -EAGAIN;
	if ((rc = read_sigevent(a1, id, &fresh)) < 0)
		return rc;
	fresh.clock = (int)a0;
	if (copy_to_user(a2, &id, sizeof(id)) < 0)
		return -EFAULT;
	p->posix_timers[id] = fresh;
	return 0;
}

static uint64_t ts_ns(const struct __kernel_timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static struct __kernel_itimerspec current_setting(const struct posix_timer *t)
{
	uint64_t now = clock_monotonic_ns();

	return (struct __kernel_itimerspec){
		.it_interval = ns_to_timespec(t->interval),
		/* Due but not yet checked: 1 ns left, never "disarmed". */
		.it_value = ns_to_timespec(t->deadline > now ? t->deadline - now
							     : (t->deadline ? 1 : 0)),
	};
}

/* The CLOCK_MONOTONIC time a setting of value on t's clock expires. */
static uint64_t monotonic_deadline(const struct posix_timer *t, uint64_t value, bool absolute)
{
	uint64_t mono = clock_monotonic_ns(), clock_now = 0;

	if (!absolute)
		return mono + value;
	clock_id_now((uint64_t)t->clock, &clock_now);
	return value > clock_now ? mono + (value - clock_now) : mono;
}

SYSCALL_DEFINE(timer_settime)
{
	struct posix_timer *t = timer_by_id((uint32_t)a0);
	struct __kernel_itimerspec v, old;

	if (t == NULL)
		return -EINVAL;
	if (a1 & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	if (copy_from_user(&v, a2, sizeof(v)) < 0)
		return -EFAULT;
	if (!timespec_valid(&v.it_value) || !timespec_valid(&v.it_interval))
		return -EINVAL;
	old = current_setting(t);
	if (a3 && copy_to_user(a3, &old, sizeof(old)) < 0)
		return -EFAULT;
	t->interval = ts_ns(&v.it_interval);
	t->overrun = 0;
	t->deadline = ts_ns(&v.it_value)
			      ? monotonic_deadline(t, ts_ns(&v.it_value), a1 & TIMER_ABSTIME)
			      : 0;
	current_process()->posix_timers_due = 0;
	return 0;
}

SYSCALL_DEFINE(timer_gettime)
{
	struct posix_timer *t = timer_by_id((uint32_t)a0);
	struct __kernel_itimerspec cur;

	if (t == NULL)
		return -EINVAL;
	cur = current_setting(t);
	return copy_to_user(a1, &cur, sizeof(cur));
}

SYSCALL_DEFINE(timer_getoverrun)
{
	struct posix_timer *t = timer_by_id((uint32_t)a0);

	return t ? t->overrun : -EINVAL;
}

SYSCALL_DEFINE(timer_delete)
{
	struct posix_timer *t = timer_by_id((uint32_t)a0);

	if (t == NULL)
		return -EINVAL;
	t->used = false;
	current_process()->posix_timers_due = 0;
	return 0;
}
