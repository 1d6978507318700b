/* SPDX-License-Identifier: MIT */
#include "memory_layout.h"

#include <lispvm/abi.h>

int memory_layout_compute(uint64_t ram_size, struct memory_layout *out)
{
	uint64_t low;

	if (ram_size < MEMORY_MIN_SIZE || ram_size > MEMORY_MAX_SIZE || ram_size % (1 << 20))
		return -1;
	*out = (struct memory_layout){.ram_size = ram_size};
	low = ram_size < LISPVM_MMIO_HOLE_START ? ram_size : LISPVM_MMIO_HOLE_START;
	out->ram[out->nr_ram++] = (struct ram_range){.gpa = 0, .size = low};
	if (ram_size > low)
		out->ram[out->nr_ram++] = (struct ram_range){
			.gpa = LISPVM_HIGH_RAM_START,
			.size = ram_size - low,
		};
	return 0;
}

uint64_t memory_layout_image_base(const struct memory_layout *layout)
{
	const struct ram_range *last = &layout->ram[layout->nr_ram - 1];
	uint64_t end = last->gpa + last->size;

	if (end < LISPVM_HIGH_RAM_START)
		end = LISPVM_HIGH_RAM_START;
	return (end + IMAGE_ALIGN - 1) & ~(IMAGE_ALIGN - 1);
}
