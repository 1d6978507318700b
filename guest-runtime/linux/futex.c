/* SPDX-License-Identifier: MIT */
/*
 * futex(2) for a process of one thread: WAKE finds nobody to wake, WAIT
 * returns EAGAIN when the word differs and otherwise waits out its
 * timeout (nothing else could change the word or wake it).  The
 * scheduler and threads (next issue) replace this with wait queues.
 */
#include <errno.h>
#include <linux/futex.h>
#include <linux/time_types.h>

#include "kernel/clock.h"
#include "kernel/printk.h"
#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

static int64_t futex_wait(uint64_t uaddr, uint32_t val, uint64_t uts, int op)
{
	struct __kernel_timespec ts;
	uint32_t word;
	uint64_t deadline;

	if (uaddr & 3)
		return -EINVAL;
	if (copy_from_user(&word, uaddr, sizeof(word)) < 0)
		return -EFAULT;
	if (word != val)
		return -EAGAIN;
	if (uts == 0) {
		printk("lispvm: %s waits on a futex no other thread can wake\n",
		       current_process()->exe);
		clock_wait_until(UINT64_MAX);
	}
	if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (long long)NSEC_PER_SEC)
		return -EINVAL;
	deadline = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	/* FUTEX_WAIT's timeout is relative; WAIT_BITSET's is absolute, on
	 * CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME. */
	if ((op & FUTEX_CMD_MASK) == FUTEX_WAIT)
		deadline += clock_monotonic_ns();
	else if (op & FUTEX_CLOCK_REALTIME)
		deadline -= clock_realtime_ns() - clock_monotonic_ns();
	clock_wait_until(deadline);
	return -ETIMEDOUT;
}

SYSCALL_DEFINE(futex)
{
	int op = (int)a1;

	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
		return futex_wait(a0, (uint32_t)a2, a3, op);
	case FUTEX_WAIT_BITSET:
		if ((uint32_t)a5 == 0)
			return -EINVAL;
		return futex_wait(a0, (uint32_t)a2, a3, op);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		return (a0 & 3) ? -EINVAL : 0; /* nobody waits */
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_WAKE_OP:
		return (a0 & 3) ? -EINVAL : 0;
	default:
		return -ENOSYS;
	}
}
