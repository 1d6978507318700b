/* SPDX-License-Identifier: MIT */
/* Futex wait queues (futex_queue.c), for the kernel's own wakes too. */
#ifndef GUEST_LINUX_FUTEX_QUEUE_H
#define GUEST_LINUX_FUTEX_QUEUE_H

#include <stdint.h>

/* Wakes up to n threads waiting on uaddr whose bitset meets bitset;
 * returns how many. */
int futex_wake_address(uint64_t uaddr, int n, uint32_t bitset);

#endif
