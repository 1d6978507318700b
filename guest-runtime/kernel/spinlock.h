/* SPDX-License-Identifier: MIT */
/* Test-and-test-and-set spinlock: with one vCPU it never spins, but shared
 * kernel state is already locked for SMP. */
#ifndef GUEST_KERNEL_SPINLOCK_H
#define GUEST_KERNEL_SPINLOCK_H

#include "arch/x86/cpu.h"

struct spinlock {
	int locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
