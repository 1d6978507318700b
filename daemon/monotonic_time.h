/* SPDX-License-Identifier: MIT */
/* CLOCK_MONOTONIC for the daemon's deadlines and timings: a wall clock set
 * back must not stall a wait nor cut one short. */
#ifndef LISPVM_DAEMON_MONOTONIC_TIME_H
#define LISPVM_DAEMON_MONOTONIC_TIME_H

#include <time.h>

static inline long long monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline double monotonic_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The CLOCK_MONOTONIC time ms from now, for a timed condition wait. */
static inline struct timespec monotonic_after_ms(long long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
