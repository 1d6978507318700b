/* SPDX-License-Identifier: MIT */
/* Clocks and sleeping. */
#include <errno.h>
#include <linux/time.h>
#include <linux/time_types.h>

#include "arch/x86/cpu.h"
#include "kernel/clock.h"
#include "linux/clocks.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* With one runnable thread and no other work, all time since exec is the
 * process's (and its thread's) CPU time. */
int clock_id_now(uint64_t id, uint64_t *ns)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		*ns = clock_realtime_ns();
		return 0;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		*ns = clock_monotonic_ns();
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		*ns = clock_monotonic_ns() - current_process()->start_ns;
		return 0;
	default:
		return -EINVAL;
	}
}

SYSCALL_DEFINE(clock_gettime)
{
	struct __kernel_timespec ts;
	uint64_t ns;
	int rc = clock_id_now(a0, &ns);

	if (rc < 0)
		return rc;
	ts = ns_to_timespec(ns);
	return copy_to_user(a1, &ts, sizeof(ts));
}

SYSCALL_DEFINE(clock_getres)
{
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 1};
	uint64_t ns;
	int rc = clock_id_now(a0, &ns);

	if (rc < 0)
		return rc;
	return a1 ? copy_to_user(a1, &ts, sizeof(ts)) : 0;
}

SYSCALL_DEFINE(gettimeofday)
{
	uint64_t ns = clock_realtime_ns();
	struct __kernel_old_timeval tv = {.tv_sec = (long)(ns / NSEC_PER_SEC),
					  .tv_usec = (long)(ns % NSEC_PER_SEC / 1000)};
	struct {
		int minuteswest, dsttime;
	} tz = {0, 0};

	if (a0 && copy_to_user(a0, &tv, sizeof(tv)) < 0)
		return -EFAULT;
	if (a1 && copy_to_user(a1, &tz, sizeof(tz)) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE(time)
{
	int64_t t = (int64_t)(clock_realtime_ns() / NSEC_PER_SEC);

	if (a0 && copy_to_user(a0, &t, sizeof(t)) < 0)
		return -EFAULT;
	return t;
}

/* No timer interrupt yet (the scheduler brings one): wait on the clock. */
/* Sleeps until clock id reaches deadline: other threads run meanwhile,
 * and a signal ends it early (-EINTR).  CPU-time clocks only advance
 * while something runs, so those are waited out on the spot. */
static int64_t wait_until(uint64_t id, uint64_t deadline)
{
	uint64_t now;
	int64_t rc;

	if (clock_id_now(id, &now) < 0 || now >= deadline)
		return 0;
	if (id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID) {
		while (clock_id_now(id, &now) == 0 && now < deadline)
			cpu_relax();
		return 0;
	}
	rc = sched_block(clock_monotonic_ns() + (deadline - now));
	return rc == -ETIMEDOUT ? 0 : rc;
}

static int64_t sleep_for(uint64_t id, uint64_t uts, bool absolute)
{
	struct __kernel_timespec ts;
	uint64_t now;

	if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (!timespec_valid(&ts))
		return -EINVAL;
	if (clock_id_now(id, &now) < 0)
		return -EINVAL;
	return wait_until(id, (absolute ? 0 : now) + (uint64_t)ts.tv_sec * NSEC_PER_SEC +
				      (uint64_t)ts.tv_nsec);
}

SYSCALL_DEFINE(nanosleep)
{
	return sleep_for(CLOCK_MONOTONIC, a0, false);
}

SYSCALL_DEFINE(clock_nanosleep)
{
	if (a0 == CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (a1 & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	return sleep_for(a0, a2, a1 & TIMER_ABSTIME);
}
