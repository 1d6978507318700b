/* SPDX-License-Identifier: MIT */
#include "kernel/percpu.h"

#include "arch/x86/cpu.h"

struct percpu percpu_area[MAX_CPUS] __attribute__((aligned(64)));

void percpu_init(unsigned int cpu)
{
	struct percpu *p = &percpu_area[cpu];

	p->self = p;
	p->cpu_id = cpu;
	/* Unpredictable enough to catch overruns; not a security boundary
	 * (the kernel runs no untrusted code in ring 0). */
	p->stack_canary = rdtsc() * 0x9e3779b97f4a7c15ull;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_FS_BASE, (uint64_t)p);
}
