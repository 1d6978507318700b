/* SPDX-License-Identifier: MIT */
/*
 * futex(2): a waiting thread blocks in the scheduler with the word's
 * address; wakes find waiters by address among the process's threads
 * (few, so a scan beats a hash table).  Private and shared futexes are
 * the same thing in one address space.
 */
#include "linux/futex_queue.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/time_types.h>

#include "kernel/clock.h"
#include "linux/clocks.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

int futex_wake_address(uint64_t uaddr, int n, uint32_t bitset)
{
	int woken = 0;

	for (struct thread *t = sched_threads(); t && woken < n; t = t->next) {
		if (t->state == THREAD_BLOCKED && t->futex_addr == uaddr &&
		    (t->futex_bitset & bitset)) {
			t->futex_addr = 0;
			sched_wake(t, 0);
			woken++;
		}
	}
	return woken;
}

/* The absolute CLOCK_MONOTONIC deadline of a futex timeout, or
 * NO_DEADLINE; FUTEX_WAIT's is relative, WAIT_BITSET's absolute (on
 * CLOCK_REALTIME with FUTEX_CLOCK_REALTIME). */
static int64_t futex_deadline(uint64_t uts, int op, uint64_t *deadline)
{
	struct __kernel_timespec ts;
	uint64_t ns;

	*deadline = NO_DEADLINE;
	if (uts == 0)
		return 0;
	if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (!timespec_valid(&ts))
		return -EINVAL;
	ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	if ((op & FUTEX_CMD_MASK) == FUTEX_WAIT)
		ns += clock_monotonic_ns();
	else if (op & FUTEX_CLOCK_REALTIME)
		ns -= clock_realtime_ns() - clock_monotonic_ns();
	*deadline = ns;
	return 0;
}

static int64_t futex_wait(uint64_t uaddr, uint32_t val, uint64_t uts, int op, uint32_t bitset)
{
	struct thread *t = current_thread();
	uint64_t deadline;
	uint32_t word;
	int64_t rc;

	if (uaddr & 3)
		return -EINVAL;
	if ((rc = futex_deadline(uts, op, &deadline)) < 0)
		return rc;
	if (copy_from_user(&word, uaddr, sizeof(word)) < 0)
		return -EFAULT;
	if (word != val)
		return -EAGAIN;
	t->futex_addr = uaddr;
	t->futex_bitset = bitset;
	rc = sched_block(deadline);
	t->futex_addr = 0;
	/* As Linux: an untimed wait restarts after an SA_RESTART handler. */
	return rc == -EINTR && deadline == NO_DEADLINE ? -ERESTARTSYS : rc;
}

/* Moves up to n waiters of uaddr to uaddr2; returns how many. */
static int requeue(uint64_t uaddr, uint64_t uaddr2, int n)
{
	int moved = 0;

	for (struct thread *t = sched_threads(); t && moved < n; t = t->next) {
		if (t->state == THREAD_BLOCKED && t->futex_addr == uaddr) {
			t->futex_addr = uaddr2;
			moved++;
		}
	}
	return moved;
}

static int64_t futex_requeue(uint64_t uaddr, int n_wake, int n_move, uint64_t uaddr2,
			     const uint32_t *cmp)
{
	uint32_t word;

	if ((uaddr | uaddr2) & 3 || n_wake < 0 || n_move < 0)
		return -EINVAL;
	if (cmp) {
		if (copy_from_user(&word, uaddr, sizeof(word)) < 0)
			return -EFAULT;
		if (word != *cmp)
			return -EAGAIN;
	}
	n_wake = futex_wake_address(uaddr, n_wake, FUTEX_BITSET_MATCH_ANY);
	n_move = requeue(uaddr, uaddr2, n_move);
	return cmp ? n_wake + n_move : n_wake;
}

static int32_t sign_extend12(uint32_t v)
{
	return (int32_t)(v << 20) >> 20;
}

/* FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake n on uaddr and, if
 * the old value compares true, n2 on uaddr2. */
static int64_t futex_wake_op(uint64_t uaddr, int n, int n2, uint64_t uaddr2, uint32_t encoded)
{
	uint32_t op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
	int32_t oparg = sign_extend12((encoded >> 12) & 0xfff),
		cmparg = sign_extend12(encoded & 0xfff);
	int32_t old, new;
	bool hit;
	int woken;

	if ((uaddr | uaddr2) & 3)
		return -EINVAL;
	if (encoded & (FUTEX_OP_OPARG_SHIFT << 28))
		oparg = 1 << (oparg & 31);
	if (copy_from_user(&old, uaddr2, sizeof(old)) < 0)
		return -EFAULT;
	switch (op) {
	case FUTEX_OP_SET:
		new = oparg;
		break;
	case FUTEX_OP_ADD:
		new = (int32_t)((uint32_t)old + (uint32_t)oparg);
		break;
	case FUTEX_OP_OR:
		new = old | oparg;
		break;
	case FUTEX_OP_ANDN:
		new = old & ~oparg;
		break;
	case FUTEX_OP_XOR:
		new = old ^ oparg;
		break;
	default:
		return -ENOSYS;
	}
	switch (cmp) {
	case FUTEX_OP_CMP_EQ:
		hit = old == cmparg;
		break;
	case FUTEX_OP_CMP_NE:
		hit = old != cmparg;
		break;
	case FUTEX_OP_CMP_LT:
		hit = old < cmparg;
		break;
	case FUTEX_OP_CMP_LE:
		hit = old <= cmparg;
		break;
	case FUTEX_OP_CMP_GT:
		hit = old > cmparg;
		break;
	case FUTEX_OP_CMP_GE:
		hit = old >= cmparg;
		break;
	default:
		return -ENOSYS;
	}
	if (copy_to_user(uaddr2, &new, sizeof(new)) < 0)
		return -EFAULT;
	woken = futex_wake_address(uaddr, n, FUTEX_BITSET_MATCH_ANY);
	if (hit)
		woken += futex_wake_address(uaddr2, n2, FUTEX_BITSET_MATCH_ANY);
	return woken;
}

SYSCALL_DEFINE(futex)
{
	int op = (int)a1;
	uint32_t val3 = (uint32_t)a5;

	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
		return futex_wait(a0, (uint32_t)a2, a3, op, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		return val3 ? futex_wait(a0, (uint32_t)a2, a3, op, val3) : -EINVAL;
	case FUTEX_WAKE:
		return (a0 & 3) ? -EINVAL : futex_wake_address(a0, (int)a2, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAKE_BITSET:
		if (a0 & 3 || val3 == 0)
			return -EINVAL;
		return futex_wake_address(a0, (int)a2, val3);
	case FUTEX_REQUEUE:
		return futex_requeue(a0, (int)a2, (int)a3, a4, NULL);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(a0, (int)a2, (int)a3, a4, &val3);
	case FUTEX_WAKE_OP:
		return futex_wake_op(a0, (int)a2, (int)a3, a4, val3);
	default:
		return -ENOSYS;
	}
}
