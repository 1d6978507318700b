/* SPDX-License-Identifier: MIT */
/* Where guest RAM and boot data go in guest-physical space. */
#ifndef LISPVM_VMM_MEMORY_LAYOUT_H
#define LISPVM_VMM_MEMORY_LAYOUT_H

#include <stdint.h>

#include <lispvm/abi.h>

#define MEMORY_LAYOUT_MAX_RAM 2

/* Boot data below 1 MiB, each piece page-aligned.  The kernel is linked to
 * load at 1 MiB and up. */
#define BOOT_START_INFO_GPA 0x7000ULL /* hvm_start_info + modlist */
#define BOOT_MEMMAP_GPA	    0x8000ULL /* hvm_memmap_table_entry[] */
#define BOOT_CMDLINE_GPA    0x9000ULL /* NUL-terminated, one page */
#define BOOT_CMDLINE_MAX    0x1000ULL
#define BOOT_FDT_GPA	    0x10000ULL /* up to LISPVM_FDT_MAX_SIZE */
#define BOOT_LOW_RAM_END    0xa0000ULL /* legacy VGA/ROM hole above */

_Static_assert(BOOT_FDT_GPA + LISPVM_FDT_MAX_SIZE <= BOOT_LOW_RAM_END,
	       "the device tree must fit below the legacy hole");

/* Images go above RAM and 4 GiB, each on a 2 MiB boundary. */
#define IMAGE_ALIGN (2ULL << 20)

struct ram_range {
	uint64_t gpa;
	uint64_t size;
};

struct memory_layout {
	uint64_t ram_size;
	struct ram_range ram[MEMORY_LAYOUT_MAX_RAM];
	unsigned int nr_ram;
};

#define MEMORY_MIN_SIZE (16ULL << 20)
#define MEMORY_MAX_SIZE (1ULL << 40)

/* Splits ram_size bytes of RAM around the MMIO hole below 4 GiB.  Returns 0,
 * or -1 if the size is below MEMORY_MIN_SIZE, above MEMORY_MAX_SIZE or not a
 * multiple of 1 MiB. */
int memory_layout_compute(uint64_t ram_size, struct memory_layout *out);

/* First guest-physical address for images: above RAM and 4 GiB. */
uint64_t memory_layout_image_base(const struct memory_layout *layout);

#endif
