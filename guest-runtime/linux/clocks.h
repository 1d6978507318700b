/* SPDX-License-Identifier: MIT */
/* The clocks a program names by clockid_t (sys_time.c). */
#ifndef GUEST_LINUX_CLOCKS_H
#define GUEST_LINUX_CLOCKS_H

#include <linux/time_types.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/clock.h"

/* The time of clock id in ns, or -EINVAL for a clock that does not
 * exist.  The CPU-time clocks count from exec. */
int clock_id_now(uint64_t id, uint64_t *ns);

/* A timespec a program passed: what Linux accepts as a time or a
 * duration (no negative field, nanoseconds under a second). */
static inline bool timespec_valid(const struct __kernel_timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long long)NSEC_PER_SEC;
}

static inline struct __kernel_timespec ns_to_timespec(uint64_t ns)
{
	return (struct __kernel_timespec){.tv_sec = (long long)(ns / NSEC_PER_SEC),
					  .tv_nsec = (long long)(ns % NSEC_PER_SEC)};
}

#endif
