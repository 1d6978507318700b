/* SPDX-License-Identifier: MIT */
#include "pvh_boot.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include <xen/arch-x86/hvm/start_info.h>

#include <lispvm/abi.h>

#include "fdt_builder.h"

/* Page BOOT_START_INFO_GPA: start info, then the module list, then the
 * module's name. */
#define MODLIST_GPA	(BOOT_START_INFO_GPA + 0x100)
#define MODULE_NAME_GPA (BOOT_START_INFO_GPA + 0x200)

#define MEMMAP_MAX_ENTRIES (MEMORY_LAYOUT_MAX_RAM + 1)

static unsigned int build_memmap(const struct memory_layout *layout,
				 struct hvm_memmap_table_entry *map)
{
	unsigned int n = 0;

	/* Conventional PC shape: low RAM up to the legacy hole at 640 KiB,
	 * then RAM from 1 MiB, then RAM above 4 GiB. */
	map[n++] = (struct hvm_memmap_table_entry){
		.addr = 0, .size = BOOT_LOW_RAM_END, .type = XEN_HVM_MEMMAP_TYPE_RAM};
	for (unsigned int i = 0; i < layout->nr_ram; i++) {
		uint64_t start = layout->ram[i].gpa, end = start + layout->ram[i].size;

		if (start < LISPVM_BOOT_DATA_END)
			start = LISPVM_BOOT_DATA_END;
		if (end > start)
			map[n++] = (struct hvm_memmap_table_entry){.addr = start,
								   .size = end - start,
								   .type = XEN_HVM_MEMMAP_TYPE_RAM};
	}
	return n;
}

static int write_or_fail(const struct guest_memory *mem, uint64_t gpa, const void *src,
			 uint64_t len, const char *what, char *err, size_t err_size)
{
	if (guest_memory_write(mem, gpa, src, len) == 0)
		return 0;
	snprintf(err, err_size, "boot data: %s does not fit in guest RAM at 0x%llx", what,
		 (unsigned long long)gpa);
	return -1;
}

int pvh_boot_write(const struct guest_memory *mem, const struct memory_layout *layout,
		   const char *cmdline, const struct guest_params *params, uint64_t *start_info_gpa,
		   char *err, size_t err_size)
{
	/* Built in place in guest RAM, so no host copy outlives boot.  libfdt
	 * clears its whole buffer first; the pages past the finished tree go
	 * back to the host below. */
	void *fdt = guest_memory_access(mem, BOOT_FDT_GPA, LISPVM_FDT_MAX_SIZE, GUEST_WRITE);
	struct hvm_memmap_table_entry map[MEMMAP_MAX_ENTRIES];
	size_t cmdline_len = strlen(cmdline) + 1;
	unsigned int nr_map;
	uint64_t fdt_end;

	if (cmdline_len > BOOT_CMDLINE_MAX) {
		snprintf(err, err_size, "kernel command line longer than %llu bytes",
			 BOOT_CMDLINE_MAX - 1);
		return -1;
	}
	if (fdt == NULL) {
		snprintf(err, err_size, "no guest RAM for the device tree");
		return -1;
	}
	if (fdt_build(fdt, LISPVM_FDT_MAX_SIZE, layout, cmdline, params, err, err_size) < 0)
		return -1;
	fdt_end = (BOOT_FDT_GPA + fdt_totalsize(fdt) + LISPVM_PAGE_SIZE - 1) &
		  ~(uint64_t)(LISPVM_PAGE_SIZE - 1);
	if (fdt_end < BOOT_FDT_GPA + LISPVM_FDT_MAX_SIZE &&
	    guest_memory_discard(mem, fdt_end, BOOT_FDT_GPA + LISPVM_FDT_MAX_SIZE - fdt_end) < 0) {
		snprintf(err, err_size, "cannot release the device tree's spare room: %s",
			 strerror(errno));
		return -1;
	}
	nr_map = build_memmap(layout, map);

	struct hvm_modlist_entry module = {
		.paddr = BOOT_FDT_GPA,
		.size = fdt_totalsize(fdt),
		.cmdline_paddr = MODULE_NAME_GPA,
	};
	struct hvm_start_info info = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1,
		.nr_modules = 1,
		.modlist_paddr = MODLIST_GPA,
		.cmdline_paddr = BOOT_CMDLINE_GPA,
		.memmap_paddr = BOOT_MEMMAP_GPA,
		.memmap_entries = nr_map,
	};

	if (write_or_fail(mem, MODULE_NAME_GPA, LISPVM_FDT_MODULE_NAME,
			  sizeof(LISPVM_FDT_MODULE_NAME), "module name", err, err_size) < 0 ||
	    write_or_fail(mem, MODLIST_GPA, &module, sizeof(module), "module list", err, err_size) <
		    0 ||
	    write_or_fail(mem, BOOT_CMDLINE_GPA, cmdline, cmdline_len, "command line", err,
			  err_size) < 0 ||
	    write_or_fail(mem, BOOT_MEMMAP_GPA, map, nr_map * sizeof(map[0]), "memory map", err,
			  err_size) < 0 ||
	    write_or_fail(mem, BOOT_START_INFO_GPA, &info, sizeof(info), "start info", err,
			  err_size) < 0)
		return -1;
	*start_info_gpa = BOOT_START_INFO_GPA;
	return 0;
}
