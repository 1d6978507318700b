/* SPDX-License-Identifier: MIT */
/*
 * The VMM's walk of the guest's page tables (vmm/guest_pagewalk.c): the
 * input stores table entries anywhere in guest memory (frames near every
 * edge of the memory map, any flags, huge pages at any level) and asks
 * for translations of addresses near the edges, canonical or not, with
 * any rights.  Besides the guard pages, each translation is checked
 * against what a CPU would say: the page's last byte lies on the same
 * page (same frame, one byte left), the result ends on a page boundary no
 * larger than 1 GiB, and asking with fewer rights gives the same frame.
 */
#include <stdlib.h>

#include "fuzz_guest_memory.h"
#include "guest_pagewalk.h"

#define MAX_STEPS 128

static struct fuzz_guest guest;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_guest_init(&guest);
	return 0;
}

static void translate(uint64_t pml4, uint64_t va, bool write, bool user)
{
	uint64_t gpa, left, end_gpa, end_left, ro_gpa, ro_left;

	if (guest_translate(&guest.mem, pml4, va, write, user, &gpa, &left) < 0)
		return;
	if (left == 0 || left > (1ull << 30) || (va + left) % 4096 != 0 || gpa + left < gpa)
		fuzz_fail("a page that does not end on a page boundary");
	if (guest_translate(&guest.mem, pml4, va + left - 1, write, user, &end_gpa, &end_left) <
		    0 ||
	    end_gpa != gpa + left - 1 || end_left != 1)
		fuzz_fail("the page's last byte elsewhere");
	if (guest_translate(&guest.mem, pml4, va, false, false, &ro_gpa, &ro_left) < 0 ||
	    ro_gpa != gpa || ro_left != left)
		fuzz_fail("fewer rights, another answer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint64_t pml4;

	fuzz_guest_reset(&guest);
	pml4 = fuzz_edge(&in);
	for (int step = 0; step < MAX_STEPS && !fuzz_done(&in); step++) {
		uint8_t op = fuzz_u8(&in);

		if (op & 1) {
			uint64_t va = fuzz_edge(&in);

			translate(pml4, va, op & 2, op & 4);
		} else {
			uint64_t where = fuzz_edge(&in) & ~7ull;
			uint64_t frame = fuzz_edge(&in) & ~0xfffull;
			uint64_t entry = frame | (fuzz_u16(&in) & 0xfff);

			if (op & 2)
				entry |= 1ull << 63; /* NX: no business of the walk */
			fuzz_guest_put(&guest, where, &entry, sizeof(entry));
		}
	}
	return 0;
}
