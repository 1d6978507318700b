/* SPDX-License-Identifier: MIT */
/* Interval timers (itimer.c), checked by the scheduler. */
#ifndef GUEST_LINUX_ITIMER_H
#define GUEST_LINUX_ITIMER_H

#include <stdint.h>

/* Sends the signals of the timers that expired by now and re-arms them. */
void itimers_check(uint64_t now);

/* The next expiry (CLOCK_MONOTONIC ns), or NO_DEADLINE. */
uint64_t itimers_next(void);

#endif
