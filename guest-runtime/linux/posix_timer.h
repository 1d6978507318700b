/* SPDX-License-Identifier: MIT */
/* timer_create's timers (posix_timer.c), checked by the scheduler. */
#ifndef GUEST_LINUX_POSIX_TIMER_H
#define GUEST_LINUX_POSIX_TIMER_H

#include <stdint.h>

/* Sends the signals of the timers that expired by now and re-arms them. */
void posix_timers_check(uint64_t now);

/* The next expiry (CLOCK_MONOTONIC ns), or NO_DEADLINE. */
uint64_t posix_timers_next(void);

#endif
