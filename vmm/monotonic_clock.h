/* SPDX-License-Identifier: MIT */
/* Nanoseconds on CLOCK_MONOTONIC, for the VMM's own timings (--stats). */
#ifndef LISPVM_VMM_MONOTONIC_CLOCK_H
#define LISPVM_VMM_MONOTONIC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
