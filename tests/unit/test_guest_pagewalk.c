/* SPDX-License-Identifier: MIT */
/* The VMM's walk of guest page tables (LISPVM_HC_COPY_VIRTUAL): 4 KiB,
 * 2 MiB and 1 GiB pages, the rights a CPU access needs, and tables a
 * guest points anywhere. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "guest_memory.h"
#include "guest_pagewalk.h"

#define RAM_SIZE 0x100000ULL
#define P	 1ull
#define W	 2ull
#define U	 4ull
#define PS	 0x80ull

static uint8_t ram[RAM_SIZE];

static void set(uint64_t table, unsigned int index, uint64_t entry)
{
	memcpy(ram + table + index * 8, &entry, 8);
}

/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000. */
static void build(void)
{
	memset(ram, 0, sizeof(ram));
	set(0x1000, 0, 0x2000 | P | W | U);
	set(0x2000, 0, 0x3000 | P | W | U);
	set(0x3000, 2, 0x4000 | P | W | U);	       /* VA 0x400000: a page table */
	set(0x4000, 0, 0x10000 | P | W | U);	       /* 0x400000 -> 0x10000 */
	set(0x4000, 1, 0x11000 | P | U);	       /* 0x401000 read-only */
	set(0x4000, 2, 0x12000 | P | W);	       /* 0x402000 kernel only */
	set(0x4000, 3, 0x13000);		       /* 0x403000 not present */
	set(0x4000, 4, 0x7fff0000000ull | P | W);      /* 0x404000 outside RAM */
	set(0x3000, 3, 0x200000 | P | W | U | PS);     /* VA 0x600000: a 2 MiB page */
	set(0x2000, 1, 0x40000000 | P | W | PS);       /* VA 0x40000000: a 1 GiB page */
	set(0x1000, 1, 0x7fff00000000ull | P | W | U); /* a PDPT outside RAM */
	set(0x1000, 2, 0x5000 | P | W | U);	       /* one that points at itself */
	set(0x5000, 0, 0x5000 | P | W | U);
}

int main(void)
{
	struct guest_memory mem = {0};
	uint64_t gpa, left;

	CHECK(guest_memory_add(&mem, 0, RAM_SIZE, ram, true) == 0);
	build();
	CHECK(guest_translate(&mem, 0x1000, 0x400123, true, true, &gpa, &left) == 0);
	CHECK(gpa == 0x10123 && left == 0x1000 - 0x123);
	CHECK(guest_translate(&mem, 0x1000, 0x401000, false, true, &gpa, &left) == 0);
	CHECK(guest_translate(&mem, 0x1000, 0x401000, true, true, &gpa, &left) < 0);
	CHECK(guest_translate(&mem, 0x1000, 0x402000, false, false, &gpa, &left) == 0);
	CHECK(guest_translate(&mem, 0x1000, 0x402000, false, true, &gpa, &left) < 0);
	CHECK(guest_translate(&mem, 0x1000, 0x403000, false, false, &gpa, &left) < 0);
	/* A frame outside RAM translates; the copy's checked access refuses it. */
	CHECK(guest_translate(&mem, 0x1000, 0x404000, false, false, &gpa, &left) == 0);
	CHECK(guest_memory_access(&mem, gpa, 1, GUEST_READ) == NULL);
	CHECK(guest_translate(&mem, 0x1000, 0x612345, true, true, &gpa, &left) == 0);
	CHECK(gpa == 0x212345 && left == 0x200000 - 0x12345);
	CHECK(guest_translate(&mem, 0x1000, 0x40000010, true, false, &gpa, &left) == 0);
	CHECK(gpa == 0x40000010 && left == (1ull << 30) - 0x10);
	CHECK(guest_translate(&mem, 0x1000, 0x40000010, false, true, &gpa, &left) < 0);
	CHECK(guest_translate(&mem, 0x1000, 1ull << 39, false, false, &gpa, &left) < 0);
	/* Four reads whatever the tables say: a self-reference ends as a page. */
	CHECK(guest_translate(&mem, 0x1000, 2ull << 39, false, false, &gpa, &left) == 0);
	CHECK(gpa == 0x5000);
	CHECK(guest_translate(&mem, 0x1000, 0x0000800000000000ull, false, false, &gpa, &left) < 0);
	CHECK(guest_translate(&mem, RAM_SIZE - 8, 0x400000, false, false, &gpa, &left) < 0);
	CHECK(guest_translate(&mem, UINT64_MAX, 0x400000, false, false, &gpa, &left) < 0);
	return check_result("guest_pagewalk");
}
