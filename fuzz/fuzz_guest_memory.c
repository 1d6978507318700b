/* SPDX-License-Identifier: MIT */
#include "fuzz_guest_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GUARD 4096ull

static const struct {
	uint64_t gpa, size;
	bool writable;
} layout[] = {
	{FUZZ_RAM_GPA, FUZZ_RAM_SIZE, true},  {FUZZ_RAM_NEXT_GPA, FUZZ_RAM_NEXT_SIZE, true},
	{FUZZ_ROM_GPA, FUZZ_ROM_SIZE, false}, {FUZZ_HIGH_GPA, FUZZ_HIGH_SIZE, true},
	{FUZZ_TOP_GPA, FUZZ_TOP_SIZE, true},
};
#define NR_REGIONS (sizeof(layout) / sizeof(layout[0]))

void fuzz_guest_init(struct fuzz_guest *g)
{
	*g = (struct fuzz_guest){0};
	for (unsigned int i = 0; i < NR_REGIONS; i++) {
		uint8_t *block = mmap(NULL, layout[i].size + 2 * GUARD, PROT_NONE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (block == MAP_FAILED ||
		    mprotect(block + GUARD, layout[i].size, PROT_READ | PROT_WRITE) < 0 ||
		    guest_memory_add(&g->mem, layout[i].gpa, layout[i].size, block + GUARD,
				     layout[i].writable) < 0) {
			perror("fuzz_guest_init");
			abort();
		}
		g->host[i] = block + GUARD;
	}
}

void fuzz_guest_reset(struct fuzz_guest *g)
{
	for (unsigned int i = 0; i < NR_REGIONS; i++)
		memset(g->host[i], 0, layout[i].size);
}

uint8_t *fuzz_guest_at(struct fuzz_guest *g, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < NR_REGIONS; i++)
		if (gpa >= layout[i].gpa && gpa - layout[i].gpa < layout[i].size &&
		    len <= layout[i].size - (gpa - layout[i].gpa))
			return g->host[i] + (gpa - layout[i].gpa);
	return NULL;
}

void fuzz_guest_put(struct fuzz_guest *g, uint64_t gpa, const void *src, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		uint8_t *p = fuzz_guest_at(g, gpa + i, 1);

		if (p != NULL)
			*p = ((const uint8_t *)src)[i];
	}
}

uint64_t fuzz_edge(struct fuzz_input *in)
{
	static const uint64_t bases[] = {
		0,
		FUZZ_RAM_GPA + FUZZ_RAM_SIZE,
		FUZZ_RAM_NEXT_GPA + FUZZ_RAM_NEXT_SIZE,
		FUZZ_ROM_GPA,
		FUZZ_ROM_GPA + FUZZ_ROM_SIZE,
		FUZZ_HIGH_GPA,
		FUZZ_HIGH_GPA + FUZZ_HIGH_SIZE,
		FUZZ_TOP_GPA,
		FUZZ_TOP_GPA + FUZZ_TOP_SIZE,
		1ull << 63,
	};
	/* Each base with an offset of -32768..32767: base 0 gives small
	 * lengths and, wrapping, the top of the 64-bit space. */
	unsigned int pick = fuzz_u8(in) % (sizeof(bases) / sizeof(bases[0]) + 1);

	if (pick == sizeof(bases) / sizeof(bases[0]))
		return fuzz_u64(in);
	return bases[pick] + (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
}
