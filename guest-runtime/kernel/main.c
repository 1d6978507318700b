/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/descriptors.h"
#include "kernel/boot_info.h"
#include "kernel/clock.h"
#include "kernel/memory.h"
#include "kernel/paging.h"
#include "kernel/percpu.h"
#include "kernel/platform.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/selftest.h"
#include "linux/exec.h"

#define BOOT_CPU 0

static struct boot_info boot_info;

static void print_banner(const struct boot_info *bi)
{
	printk("lispvm guest runtime %s (ABI %d) on %s: %lu MiB RAM, %lu MiB free, "
	       "clock %s (TSC %lu MHz), up %lu us\n",
	       LISPVM_VERSION, LISPVM_ABI_VERSION, platform_name(), boot_ram_bytes(bi) >> 20,
	       (uint64_t)pmem_free_count() * PAGE_SIZE >> 20, clock_source_name(),
	       clock_tsc_hz() / 1000000, clock_monotonic_ns() / 1000);
}

static int exit_status(const struct boot_info *bi)
{
	char value[16];

	if (boot_cmdline_get(bi, "exit", value, sizeof(value)) < 0)
		return 0;
	return (int)(strtoul(value, NULL, 0) & 0xff);
}

_Noreturn void kmain(uint32_t start_info_paddr);

_Noreturn void kmain(uint32_t start_info_paddr)
{
	char selftest[32];

	percpu_init(BOOT_CPU);
	descriptors_init(&this_cpu()->desc);
	boot_info_parse(start_info_paddr, &boot_info);
	cpu_features_init();
	pmem_init(&boot_info);
	paging_init(&boot_info);
	clock_init();
	/* lispvm exec: the program's output is all the user sees. */
	if (boot_info.program.present)
		exec_boot_program(&boot_info);
	print_banner(&boot_info);
	if (boot_cmdline_get(&boot_info, "selftest", selftest, sizeof(selftest)) == 0) {
		selftest_run(selftest, &boot_info);
		printk("selftest %s: passed\n", selftest);
	}
	platform_exit(exit_status(&boot_info));
}
