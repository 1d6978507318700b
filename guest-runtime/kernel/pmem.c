/* SPDX-License-Identifier: MIT */
#include "kernel/pmem.h"

#include <string.h>

#include "kernel/memory.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

/* The boot page tables map only the first GiB; the bitmap must sit there. */
#define EARLY_MAPPED_LIMIT (1ull << 30)

static struct {
	struct spinlock lock;
	uint64_t *bits;
	uint64_t nr_frames;
	/* Whole-frame RAM ranges [first, last): the allocator searches only
	 * these, so frames in gaps and holes never need marking. */
	struct {
		uint64_t first, last;
	} ram[BOOT_MAX_RAM_RANGES];
	unsigned int nr_ram;
	uint64_t next; /* next-fit hint */
	size_t free;
	size_t usable;
} pmem;

static int test_frame(uint64_t pfn)
{
	return (pmem.bits[pfn / 64] >> (pfn % 64)) & 1;
}

static unsigned int popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned int)((x * 0x0101010101010101ull) >> 56);
}

/* Marks n frames from pfn used or free and returns how many changed. */
static uint64_t set_frames(uint64_t pfn, uint64_t n, int used)
{
	uint64_t changed = 0;

	for (uint64_t i = pfn; i < pfn + n;) {
		uint64_t *word = &pmem.bits[i / 64];
		uint64_t bits = (i % 64 == 0 && pfn + n - i >= 64) ? ~0ull : 1ull << (i % 64);
		uint64_t before = *word;

		*word = used ? before | bits : before & ~bits;
		changed += popcount64(before ^ *word);
		i += bits == ~0ull ? 64 : 1;
	}
	return changed;
}

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_down(uint64_t a)
{
	return a & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t place_bitmap(const struct boot_info *bi, uint64_t bytes)
{
	uint64_t kernel_end = page_up((uint64_t)_kernel_phys_end);

	for (unsigned int i = 0; i < bi->nr_ram; i++) {
		uint64_t start = page_up(bi->ram[i].start);
		uint64_t end = page_down(bi->ram[i].end);

		if (start < kernel_end)
			start = kernel_end;
		if (end > EARLY_MAPPED_LIMIT)
			end = EARLY_MAPPED_LIMIT;
		if (start < end && end - start >= bytes)
			return start;
	}
	panic("no room below 1 GiB for the page bitmap (%lu bytes)", bytes);
}

/* Marks the RAM frames touching [start, end) used. */
static void reserve(uint64_t start, uint64_t end)
{
	uint64_t first = page_down(start) / PAGE_SIZE, last = page_up(end) / PAGE_SIZE;

	for (unsigned int i = 0; i < pmem.nr_ram; i++) {
		uint64_t from = first > pmem.ram[i].first ? first : pmem.ram[i].first;
		uint64_t to = last < pmem.ram[i].last ? last : pmem.ram[i].last;

		if (from < to)
			pmem.free -= set_frames(from, to - from, 1);
	}
}

/* True when frames [pfn, pfn + n) all lie in one RAM range. */
static int frames_are_ram(uint64_t pfn, uint64_t n)
{
	for (unsigned int i = 0; i < pmem.nr_ram; i++)
		if (pfn >= pmem.ram[i].first && n <= pmem.ram[i].last - pfn &&
		    pfn < pmem.ram[i].last)
			return 1;
	return 0;
}

static uint64_t frames_in(const struct phys_range *r)
{
	uint64_t first = page_up(r->start) / PAGE_SIZE, last = page_down(r->end) / PAGE_SIZE;

	return last > first ? last - first : 0;
}

/* Bit 0 means free, so a zero-filled bitmap starts out all free: under
 * lispvm, RAM is zero at entry (abi.h) and the bitmap needs no clearing.
 * Gaps between RAM ranges are never searched, so they need no marking
 * either; only what is in use at boot is.  Boot cost stays independent of
 * RAM size, which matters where ring-0 code is emulated (nested PVM). */
void pmem_init(const struct boot_info *bi)
{
	uint64_t top = bi->ram[bi->nr_ram - 1].end, bytes, bitmap_phys;

	pmem.nr_frames = top / PAGE_SIZE;
	bytes = page_up((pmem.nr_frames + 63) / 64 * 8);
	bitmap_phys = place_bitmap(bi, bytes);
	pmem.bits = phys_to_virt(bitmap_phys);
	if (bi->platform != PLATFORM_LISPVM)
		memset(pmem.bits, 0, bytes);
	for (unsigned int i = 0; i < bi->nr_ram; i++) {
		uint64_t n = frames_in(&bi->ram[i]);

		if (n == 0)
			continue;
		pmem.ram[pmem.nr_ram].first = page_up(bi->ram[i].start) / PAGE_SIZE;
		pmem.ram[pmem.nr_ram].last = pmem.ram[pmem.nr_ram].first + n;
		pmem.nr_ram++;
		pmem.free += n;
	}
	reserve(0, LISPVM_BOOT_DATA_END);
	reserve((uint64_t)_kernel_phys_start, (uint64_t)_kernel_phys_end);
	reserve(bitmap_phys, bitmap_phys + bytes);
	pmem.usable = pmem.free;
}

static int run_is_free(uint64_t pfn, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (test_frame(pfn + i))
			return 0;
	return 1;
}

static uint64_t find_run_between(uint64_t from, uint64_t to, size_t n)
{
	for (uint64_t pfn = from; pfn + n <= to; pfn++) {
		if (pfn % 64 == 0 && pmem.bits[pfn / 64] == ~0ull) {
			pfn += 63;
			continue;
		}
		if (run_is_free(pfn, n))
			return pfn;
	}
	return 0;
}

/* Next-fit over the RAM ranges: from the hint up, then from the bottom.
 * Frame 0 is never handed out (0 means failure) and is reserved anyway. */
static uint64_t find_run(size_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < pmem.nr_ram; i++) {
			uint64_t from = pmem.ram[i].first, to = pmem.ram[i].last, pfn;

			if (pass == 0 && pmem.next > from)
				from = pmem.next;
			if (from < to && (pfn = find_run_between(from, to, n)) != 0)
				return pfn;
		}
	}
	return 0;
}

uint64_t pmem_alloc_pages(size_t n)
{
	uint64_t pfn = 0;

	if (n == 0)
		return 0;
	spin_lock(&pmem.lock);
	if (pmem.free >= n)
		pfn = find_run(n);
	if (pfn != 0) {
		pmem.free -= set_frames(pfn, n, 1);
		pmem.next = pfn + n;
	}
	spin_unlock(&pmem.lock);
	return pfn * PAGE_SIZE;
}

void pmem_free_pages(uint64_t phys, size_t n)
{
	uint64_t pfn = phys / PAGE_SIZE;

	spin_lock(&pmem.lock);
	if (phys % PAGE_SIZE || pfn == 0 || n == 0 || !frames_are_ram(pfn, n))
		panic("pmem_free_pages: bad range 0x%lx + %zu pages", phys, n);
	for (size_t i = 0; i < n; i++)
		if (!test_frame(pfn + i))
			panic("pmem_free_pages: page 0x%lx is already free", (pfn + i) * PAGE_SIZE);
	pmem.free += set_frames(pfn, n, 0);
	if (pfn < pmem.next)
		pmem.next = pfn;
	spin_unlock(&pmem.lock);
}

uint64_t pmem_alloc_zeroed_page(void)
{
	uint64_t phys = pmem_alloc_pages(1);

	if (phys != 0)
		memset(phys_to_virt(phys), 0, PAGE_SIZE);
	return phys;
}

size_t pmem_free_count(void)
{
	return pmem.free;
}

size_t pmem_usable_count(void)
{
	return pmem.usable;
}
