/* SPDX-License-Identifier: MIT */
#include "kernel/platform.h"

#include <stdio.h>

#include "arch/x86/cpu.h"
#include "kernel/hypercall.h"
#include "kernel/memory_stats.h"
#include "kernel/memory.h"
#include "kernel/uart16550.h"

/* QEMU's isa-debug-exit device: writing v makes QEMU exit with (v << 1) | 1. */
#define ISA_DEBUG_EXIT_PORT 0xf4

static enum platform_kind kind = PLATFORM_PVH;

void platform_init(enum platform_kind k)
{
	kind = k;
	if (kind == PLATFORM_PVH)
		uart16550_init();
}

enum platform_kind platform_kind(void)
{
	return kind;
}

const char *platform_name(void)
{
	return kind == PLATFORM_LISPVM ? "lispvm/KVM" : "PVH (16550 console)";
}

void platform_console_write(const char *s, size_t len)
{
	if (kind == PLATFORM_LISPVM)
		hypercall(LISPVM_HC_CONSOLE_WRITE, virt_to_phys(s), len);
	else
		uart16550_write(s, len);
}

_Noreturn void platform_exit(int status)
{
	static struct lispvm_memory_stats stats;

	if (kind == PLATFORM_LISPVM) {
		memory_stats_collect(&stats);
		hypercall3(LISPVM_HC_EXIT, (uint64_t)status, virt_to_phys(&stats), sizeof(stats));
	} else
		outl(ISA_DEBUG_EXIT_PORT, (uint32_t)status);
	/* Without an exit device, the best a PVH guest can do is stop. */
	cpu_halt_forever();
}

static void print_fault(const struct lispvm_fault_report *r)
{
	char line[160];
	int n;

	n = snprintf(line, sizeof(line),
		     "guest runtime fault: vector %lu, error code 0x%lx, RIP 0x%lx, CR2 0x%lx\n",
		     r->vector, r->error_code, r->rip, r->cr2);
	uart16550_write(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

_Noreturn void platform_report_fault(const struct lispvm_fault_report *report)
{
	if (kind == PLATFORM_LISPVM)
		hypercall(LISPVM_HC_FAULT, virt_to_phys(report), sizeof(*report));
	else
		print_fault(report);
	platform_exit(LISPVM_EXIT_GUEST_CRASH);
}
