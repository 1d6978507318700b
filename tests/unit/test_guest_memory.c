/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest_memory.h"

#define LOW_GPA	 0x1000ULL
#define LOW_SIZE 0x4000ULL
#define ROM_GPA	 0x10000ULL
#define ROM_SIZE 0x1000ULL
/* The highest region a 64-bit end address can describe: [2^64 - 4097, 2^64 - 1). */
#define HIGH_GPA  (UINT64_MAX - 0x1000ULL)
#define HIGH_SIZE 0x1000ULL

static uint8_t low[LOW_SIZE], rom[ROM_SIZE], high[HIGH_SIZE];

static void setup(struct guest_memory *mem)
{
	*mem = (struct guest_memory){0};
	CHECK(guest_memory_add(mem, LOW_GPA, LOW_SIZE, low, true) == 0);
	CHECK(guest_memory_add(mem, ROM_GPA, ROM_SIZE, rom, false) == 0);
	CHECK(guest_memory_add(mem, HIGH_GPA, HIGH_SIZE, high, true) == 0);
}

static void test_add_rejects_bad_regions(void)
{
	struct guest_memory mem;
	uint8_t buf[16];

	setup(&mem);
	CHECK(guest_memory_add(&mem, 0x100000, 0, buf, true) < 0);		  /* empty */
	CHECK(guest_memory_add(&mem, UINT64_MAX - 7, 16, buf, true) < 0);	  /* wraps */
	CHECK(guest_memory_add(&mem, LOW_GPA + LOW_SIZE - 1, 16, buf, true) < 0); /* overlap */
	CHECK(guest_memory_add(&mem, LOW_GPA - 8, 16, buf, true) < 0);	       /* overlap below */
	CHECK(guest_memory_add(&mem, LOW_GPA + LOW_SIZE, 16, buf, true) == 0); /* adjacent */

	CHECK(guest_memory_add(&mem, UINT64_MAX - 15, 16, buf, true) < 0); /* ends at 2^64 */
	CHECK(guest_memory_add(&mem, 0x200000, 16, NULL, true) < 0);	   /* no host memory */

	mem = (struct guest_memory){0};
	for (unsigned int i = 0; i < GUEST_MEMORY_MAX_REGIONS; i++)
		CHECK(guest_memory_add(&mem, (uint64_t)i << 20, 16, buf, true) == 0);
	CHECK(guest_memory_add(&mem, 1ULL << 40, 16, buf, true) < 0); /* table full */
}

static void test_access_bounds(void)
{
	struct guest_memory mem;

	setup(&mem);
	CHECK(guest_memory_access(&mem, LOW_GPA, LOW_SIZE, GUEST_WRITE) == low);
	CHECK(guest_memory_access(&mem, LOW_GPA + 5, 1, GUEST_READ) == low + 5);
	/* The last byte of a region is reachable; one more is not. */
	CHECK(guest_memory_access(&mem, LOW_GPA + LOW_SIZE - 1, 1, GUEST_READ) ==
	      low + LOW_SIZE - 1);
	CHECK(guest_memory_access(&mem, LOW_GPA + LOW_SIZE - 1, 2, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, LOW_GPA + LOW_SIZE, 1, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, LOW_GPA - 1, 1, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, LOW_GPA - 1, 2, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, 0, 1, GUEST_READ) == NULL);
	/* Zero length is never a valid request. */
	CHECK(guest_memory_access(&mem, LOW_GPA, 0, GUEST_READ) == NULL);
	/* Lengths that would wrap the 64-bit address space. */
	CHECK(guest_memory_access(&mem, LOW_GPA, UINT64_MAX, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, LOW_GPA + 1, UINT64_MAX - LOW_GPA, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, HIGH_GPA + 1, HIGH_SIZE, GUEST_READ) == NULL);
	/* At the top of the address space: the last byte works, one more wraps. */
	CHECK(guest_memory_access(&mem, UINT64_MAX - 1, 1, GUEST_READ) == high + HIGH_SIZE - 1);
	CHECK(guest_memory_access(&mem, UINT64_MAX - 1, 2, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, UINT64_MAX, 1, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, HIGH_GPA, HIGH_SIZE, GUEST_WRITE) == high);
}

static void test_access_straddle_and_readonly(void)
{
	struct guest_memory mem;
	uint8_t next[16];

	setup(&mem);
	CHECK(guest_memory_add(&mem, LOW_GPA + LOW_SIZE, sizeof(next), next, true) == 0);
	/* Adjacent regions are separate host buffers: a range spanning both
	 * must be refused even though every byte is guest RAM. */
	CHECK(guest_memory_access(&mem, LOW_GPA + LOW_SIZE - 4, 8, GUEST_READ) == NULL);
	CHECK(guest_memory_access(&mem, ROM_GPA, ROM_SIZE, GUEST_READ) == rom);
	CHECK(guest_memory_access(&mem, ROM_GPA, 1, GUEST_WRITE) == NULL);
}

static void test_copy_helpers(void)
{
	struct guest_memory mem;
	const char msg[] = "lispvm";
	char back[sizeof(msg)] = {0};

	setup(&mem);
	CHECK(guest_memory_write(&mem, LOW_GPA + 100, msg, sizeof(msg)) == 0);
	CHECK(memcmp(low + 100, msg, sizeof(msg)) == 0);
	CHECK(guest_memory_read(&mem, back, LOW_GPA + 100, sizeof(back)) == 0);
	CHECK(memcmp(back, msg, sizeof(msg)) == 0);
	CHECK(guest_memory_write(&mem, ROM_GPA, msg, sizeof(msg)) < 0);
	CHECK(guest_memory_write(&mem, LOW_GPA + LOW_SIZE - 2, msg, sizeof(msg)) < 0);
	CHECK(guest_memory_read(&mem, back, 0x200000, sizeof(back)) < 0);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != value)
			return false;
	return true;
}

/* A restored snapshot's pages are a private file mapping, where
 * MADV_DONTNEED would bring back the file's bytes: a discarded page must
 * read zero there too, and the file must not change. */
static void test_discard_reads_zero(void)
{
	enum { PAGES = 4, PAGE = 4096 };
	struct guest_memory mem = {0};
	uint8_t page[PAGE];
	FILE *file = tmpfile();
	uint8_t *ram = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CHECK(file != NULL && ram != MAP_FAILED);
	memset(page, 0xa5, sizeof(page));
	for (int i = 0; i < PAGES; i++)
		CHECK(fwrite(page, 1, PAGE, file) == PAGE);
	CHECK(fflush(file) == 0);
	CHECK(mmap(ram + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		   fileno(file), PAGE) == ram + PAGE);
	CHECK(guest_memory_add(&mem, 0x100000, PAGES * PAGE, ram, true) == 0);
	guest_memory_mark_file_backed(&mem, 0x100000 + PAGE, 2 * PAGE);
	ram[0] = 1;
	ram[2 * PAGE] = 2; /* a private copy of a file page */

	CHECK(guest_memory_discard(&mem, 0x100000, 3 * PAGE) == 0);
	CHECK(all_bytes(ram, 3 * PAGE, 0));
	CHECK(all_bytes(ram + 3 * PAGE, PAGE, 0));
	CHECK(guest_memory_discard(&mem, 0x100000 + 1, PAGE) < 0);
	CHECK(guest_memory_discard(&mem, 0x100000 + 3 * PAGE, 2 * PAGE) < 0);
	CHECK(pread(fileno(file), page, PAGE, 2 * PAGE) == PAGE && all_bytes(page, PAGE, 0xa5));
	munmap(ram, PAGES * PAGE);
	fclose(file);
}

static bool written(const struct guest_memory *mem, unsigned int region, uint64_t page)
{
	return (mem->regions[region].written[page / 64] >> (page % 64)) & 1;
}

/* With tracking, every page the VMM is handed for writing (or discards)
 * is marked, and nothing else: a diff snapshot stores those with the
 * pages KVM saw the guest write. */
static void test_write_tracking(void)
{
	struct guest_memory mem;
	char byte = 1, back[8];

	setup(&mem);
	CHECK(guest_memory_track_writes(&mem) == 0);
	CHECK(guest_memory_read(&mem, back, LOW_GPA, sizeof(back)) == 0);
	CHECK(!written(&mem, 0, 0));
	CHECK(guest_memory_write(&mem, LOW_GPA + 0x1ffc, back, sizeof(back)) == 0);
	CHECK(written(&mem, 0, 1) && written(&mem, 0, 2) && !written(&mem, 0, 0) &&
	      !written(&mem, 0, 3));
	CHECK(guest_memory_access(&mem, LOW_GPA + 0x3000, 1, GUEST_WRITE) != NULL);
	CHECK(written(&mem, 0, 3));
	CHECK(guest_memory_write(&mem, ROM_GPA, &byte, 1) < 0);
	CHECK(mem.regions[1].written == NULL); /* read-only: never written */
	guest_memory_free_tracking(&mem);
	CHECK(mem.regions[0].written == NULL);
}

int main(void)
{
	test_add_rejects_bad_regions();
	test_access_bounds();
	test_access_straddle_and_readonly();
	test_copy_helpers();
	test_discard_reads_zero();
	test_write_tracking();
	return check_result("guest_memory");
}
