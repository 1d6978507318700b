/* SPDX-License-Identifier: MIT */
/* Guest RAM placement and the PVH boot data written into it. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xen/arch-x86/hvm/start_info.h>

#include <lispvm/abi.h>

#include "check.h"
#include "memory_layout.h"
#include "pvh_boot.h"

static const struct guest_params no_params;

static void test_layout(void)
{
	struct memory_layout l;

	CHECK(memory_layout_compute(MEMORY_MIN_SIZE - (1 << 20), &l) < 0);
	CHECK(memory_layout_compute(MEMORY_MAX_SIZE + (1 << 20), &l) < 0);
	CHECK(memory_layout_compute((64 << 20) + 4096, &l) < 0);
	CHECK(memory_layout_compute(0, &l) < 0);

	CHECK(memory_layout_compute(64 << 20, &l) == 0);
	CHECK(l.nr_ram == 1 && l.ram[0].gpa == 0 && l.ram[0].size == 64 << 20);

	/* Exactly up to the hole: still one range. */
	CHECK(memory_layout_compute(LISPVM_MMIO_HOLE_START, &l) == 0);
	CHECK(l.nr_ram == 1 && l.ram[0].size == LISPVM_MMIO_HOLE_START);

	CHECK(memory_layout_compute(8ULL << 30, &l) == 0);
	CHECK(l.nr_ram == 2);
	CHECK(l.ram[0].gpa == 0 && l.ram[0].size == LISPVM_MMIO_HOLE_START);
	CHECK(l.ram[1].gpa == LISPVM_HIGH_RAM_START);
	CHECK(l.ram[0].size + l.ram[1].size == 8ULL << 30);
}

static void test_pvh_boot_data(void)
{
	const uint64_t ram_size = 16 << 20;
	struct guest_memory mem = {0};
	struct memory_layout l;
	struct hvm_start_info info;
	struct hvm_memmap_table_entry map[2];
	struct hvm_modlist_entry module;
	/* As the VMM maps RAM: page-aligned, so spare device-tree room can be
	 * dropped with madvise. */
	uint8_t *ram =
		mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t start_info_gpa = 0;
	char err[128] = "", name[32];

	CHECK(memory_layout_compute(ram_size, &l) == 0);
	CHECK(guest_memory_add(&mem, 0, ram_size, ram, true) == 0);
	CHECK(pvh_boot_write(&mem, &l, "exit=7", &no_params, &start_info_gpa, err, sizeof(err)) ==
	      0);
	CHECK(guest_memory_read(&mem, &info, start_info_gpa, sizeof(info)) == 0);
	CHECK(info.magic == XEN_HVM_START_MAGIC_VALUE);
	CHECK(info.version >= 1);
	CHECK(strcmp((char *)ram + info.cmdline_paddr, "exit=7") == 0);

	/* Low RAM below the legacy hole, then RAM from the end of boot data. */
	CHECK(info.memmap_entries == 2);
	CHECK(guest_memory_read(&mem, map, info.memmap_paddr, sizeof(map)) == 0);
	CHECK(map[0].addr == 0 && map[0].size == 0xa0000 && map[0].type == XEN_HVM_MEMMAP_TYPE_RAM);
	CHECK(map[1].addr == LISPVM_BOOT_DATA_END);
	CHECK(map[1].addr + map[1].size == ram_size);

	/* The device tree travels as module 0, named so the guest can tell. */
	CHECK(info.nr_modules == 1);
	CHECK(guest_memory_read(&mem, &module, info.modlist_paddr, sizeof(module)) == 0);
	CHECK(guest_memory_read(&mem, name, module.cmdline_paddr, sizeof(LISPVM_FDT_MODULE_NAME)) ==
	      0);
	CHECK(strcmp(name, LISPVM_FDT_MODULE_NAME) == 0);
	CHECK(module.size > 0 && module.size <= LISPVM_FDT_MAX_SIZE);
	CHECK(module.paddr + module.size <= LISPVM_BOOT_DATA_END);

	/* libfdt clears its whole buffer; the room past the tree goes back. */
	unsigned char resident[LISPVM_FDT_MAX_SIZE / 4096];
	size_t used = (module.size + 4095) / 4096, spare_resident = 0;

	CHECK(mincore(ram + BOOT_FDT_GPA, LISPVM_FDT_MAX_SIZE, resident) == 0);
	for (size_t i = used; i < sizeof(resident); i++)
		spare_resident += resident[i] & 1;
	CHECK(spare_resident == 0);

	/* A command line that does not fit its page is refused, not cut. */
	char *long_cmdline = malloc(BOOT_CMDLINE_MAX + 1);

	memset(long_cmdline, 'x', BOOT_CMDLINE_MAX);
	long_cmdline[BOOT_CMDLINE_MAX] = '\0';
	CHECK(pvh_boot_write(&mem, &l, long_cmdline, &no_params, &start_info_gpa, err,
			     sizeof(err)) < 0);
	CHECK_CONTAINS(err, "command line longer");
	free(long_cmdline);
	munmap(ram, ram_size);
}

int main(void)
{
	test_layout();
	test_pvh_boot_data();
	return check_result("memory_layout");
}
