/* SPDX-License-Identifier: MIT */
/*
 * Compiled with the guest's headers, as boot_info.c is: builds the PVH
 * start info a loader would (module 0 the device tree, named as lispvm
 * names it; one RAM range) out of host memory, whose "physical" addresses
 * are chosen so that the guest's phys_to_virt() lands on it.
 */
#include "fuzz_fdt_boot_info.h"

#include <lispvm/abi.h>
#include <start_info.h>

#include "fuzz_guest_kernel.h"
#include "kernel/memory.h"

struct parse {
	uint64_t start_info;
	struct boot_info *bi;
};

/* The console and exit path boot_info_parse picks; nothing to do here. */
void platform_init(enum platform_kind kind)
{
	(void)kind;
}

static uint64_t phys(const volatile void *p)
{
	return (uint64_t)p - DIRECT_MAP_BASE;
}

static void parse(void *arg)
{
	struct parse *p = arg;

	boot_info_parse(p->start_info, p->bi);
}

int fuzz_boot_info(const void *fdt, uint64_t size, const char *cmdline, struct boot_info *bi)
{
	static const char module_name[] = LISPVM_FDT_MODULE_NAME;
	static struct hvm_modlist_entry module;
	static struct hvm_memmap_table_entry ram;
	static struct hvm_start_info si;
	struct parse p = {phys(&si), bi};

	module = (struct hvm_modlist_entry){
		.paddr = phys(fdt), .size = size, .cmdline_paddr = phys(module_name)};
	ram = (struct hvm_memmap_table_entry){
		.addr = 0x100000, .size = 0x3ff00000, .type = XEN_HVM_MEMMAP_TYPE_RAM};
	si = (struct hvm_start_info){
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1,
		.nr_modules = 1,
		.modlist_paddr = phys(&module),
		.cmdline_paddr = phys(cmdline),
		.memmap_paddr = phys(&ram),
		.memmap_entries = 1,
	};
	return fuzz_guest_try(parse, &p);
}
