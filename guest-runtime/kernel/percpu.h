/* SPDX-License-Identifier: MIT */
/* Per-CPU state, reached through %gs (and, until the first Linux program
 * runs, through %fs too: see stack_canary). */
#ifndef GUEST_KERNEL_PERCPU_H
#define GUEST_KERNEL_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "arch/x86/descriptors.h"
#include "kernel/percpu_offsets.h"

#define MAX_CPUS 8

struct thread;

struct percpu {
	struct percpu *self; /* 0x00: %gs:0 gives the struct's address */
	uint64_t cpu_id;     /* 0x08 */
	/* 0x10: top of the running thread's kernel stack, where SYSCALL
	 * switches to (the CPU does not switch stacks on SYSCALL). */
	uint64_t kernel_rsp;
	uint64_t user_rsp;	/* 0x18: scratch for the user RSP on SYSCALL */
	struct thread *current; /* 0x20 */
	/* 0x28: Debian's libfdt.a is built with -fstack-protector and reads
	 * its canary from %fs:0x28, as glibc lays it out.  The kernel points
	 * %fs here while it parses the device tree at boot. */
	uint64_t stack_canary;
	int in_fatal_fault; /* a fault while reporting a fault */
	struct cpu_descriptors desc;
	/* Below 4 GiB because the percpu array lives in the kernel image:
	 * hypercall requests must (abi.h). */
	struct lispvm_hypercall hypercall __attribute__((aligned(64)));
};

_Static_assert(offsetof(struct percpu, stack_canary) == 0x28, "libfdt canary offset");
_Static_assert(offsetof(struct percpu, kernel_rsp) == PERCPU_KERNEL_RSP, "asm offset");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "asm offset");

extern struct percpu percpu_area[MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Points %gs and %fs at cpu's area; call first thing on each CPU. */
void percpu_init(unsigned int cpu);

#endif
