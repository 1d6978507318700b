/* SPDX-License-Identifier: MIT */
#include "guest_pagewalk.h"

#define PTE_PRESENT   (1ull << 0)
#define PTE_WRITE     (1ull << 1)
#define PTE_USER      (1ull << 2)
#define PTE_HUGE      (1ull << 7)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

static bool canonical(uint64_t va)
{
	uint64_t top = va >> 47;

	return top == 0 || top == 0x1ffff;
}

int guest_translate(const struct guest_memory *mem, uint64_t pml4, uint64_t va, bool write,
		    bool user, uint64_t *gpa, uint64_t *left)
{
	uint64_t table = pml4 & PTE_ADDR_MASK, need = PTE_PRESENT;

	if (!canonical(va))
		return -1;
	if (write)
		need |= PTE_WRITE;
	if (user)
		need |= PTE_USER;
	/* Levels 4..1: bits 47-39, 38-30, 29-21, 20-12 index the tables. */
	for (int level = 4; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (unsigned int)(level - 1);
		uint64_t entry, page_size = 1ull << shift;

		if (guest_memory_read(mem, &entry, table + ((va >> shift) & 511) * 8,
				      sizeof(entry)) < 0 ||
		    (entry & need) != need)
			return -1;
		/* A huge page at the 1 GiB or 2 MiB level ends the walk. */
		if (level == 1 || ((level == 2 || level == 3) && (entry & PTE_HUGE))) {
			uint64_t base = entry & PTE_ADDR_MASK & ~(page_size - 1);

			*gpa = base + (va & (page_size - 1));
			*left = page_size - (va & (page_size - 1));
			return 0;
		}
		table = entry & PTE_ADDR_MASK;
	}
	return -1;
}
