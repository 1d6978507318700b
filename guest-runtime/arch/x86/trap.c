/* SPDX-License-Identifier: MIT */
#include "arch/x86/trap.h"

#include "arch/x86/cpu.h"
#include "kernel/percpu.h"
#include "kernel/platform.h"

static void fill_report(const struct trap_frame *f, struct lispvm_fault_report *r)
{
	*r = (struct lispvm_fault_report){
		.vector = f->vector,
		.error_code = f->error_code,
		.rip = f->rip,
		.cs = f->cs,
		.rflags = f->rflags,
		.rsp = f->rsp,
		.ss = f->ss,
		.cr0 = read_cr0(),
		.cr2 = read_cr2(),
		.cr3 = read_cr3(),
		.cr4 = read_cr4(),
	};
	for (int i = 0; i < LISPVM_GPR_COUNT; i++)
		r->gpr[i] = f->gpr[i];
}

/* Every exception in the kernel is fatal for now; the Linux personality
 * turns ring-3 exceptions into signals. */
void trap_dispatch(struct trap_frame *frame)
{
	struct percpu *cpu = this_cpu();
	struct lispvm_fault_report report;

	if (cpu->in_fatal_fault++)
		platform_exit(LISPVM_EXIT_GUEST_CRASH);
	fill_report(frame, &report);
	platform_report_fault(&report);
}
