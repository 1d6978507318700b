/* SPDX-License-Identifier: MIT */
#include "kernel/pmem.h"

#include <string.h>

#include "kernel/memory.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

/*
 * Two sources of pages, both O(1):
 *  - a bump pointer through each RAM range: pages never handed out yet,
 *    still zero as the VMM delivered them (abi.h) and never touched, so
 *    the host backs nothing for them;
 *  - a free list of pages handed back, linked through their first word
 *    (they were touched already).
 * Multi-page runs come from the bump pointer only.  Everything the
 * allocator does is a handful of instructions: where ring 0 is emulated
 * (nested PVM) each one costs microseconds, and every page fault of a
 * program allocates.
 */
static struct {
	struct spinlock lock;
	struct {
		uint64_t start;	    /* [start, next) has been handed out */
		uint64_t next, end; /* bump region [next, end), page-aligned */
	} ram[BOOT_MAX_RAM_RANGES];
	unsigned int nr_ram;
	unsigned int cur;   /* first range with pages left to bump */
	uint64_t free_list; /* physical address of the first freed page */
	size_t free;
	size_t usable;
	int zero_at_boot; /* RAM is zero at entry (lispvm's ABI promise) */
} pmem;

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_down(uint64_t a)
{
	return a & ~(uint64_t)(PAGE_SIZE - 1);
}

/* Boot data and the kernel image sit below _kernel_phys_end: the bump
 * regions start above it.  Boot cost is independent of RAM size. */
void pmem_init(const struct boot_info *bi)
{
	uint64_t floor = page_up((uint64_t)_kernel_phys_end);

	for (unsigned int i = 0; i < bi->nr_ram; i++) {
		uint64_t start = page_up(bi->ram[i].start), end = page_down(bi->ram[i].end);

		if (start < floor)
			start = floor;
		if (start >= end)
			continue;
		pmem.ram[pmem.nr_ram].start = start;
		pmem.ram[pmem.nr_ram].next = start;
		pmem.ram[pmem.nr_ram].end = end;
		pmem.nr_ram++;
		pmem.free += (end - start) / PAGE_SIZE;
	}
	pmem.usable = pmem.free;
	/* QEMU's PVH loader makes no such promise. */
	pmem.zero_at_boot = bi->platform == PLATFORM_LISPVM;
}

static uint64_t bump(size_t n)
{
	uint64_t bytes = (uint64_t)n * PAGE_SIZE;

	for (unsigned int i = pmem.cur; i < pmem.nr_ram; i++) {
		if (pmem.ram[i].end - pmem.ram[i].next >= bytes) {
			uint64_t phys = pmem.ram[i].next;

			pmem.ram[i].next += bytes;
			return phys;
		}
		/* A range too small for this run may still serve single pages:
		 * move on only when it is empty. */
		if (pmem.ram[i].next == pmem.ram[i].end && i == pmem.cur)
			pmem.cur++;
	}
	return 0;
}

static uint64_t pop_free_list(void)
{
	uint64_t phys = pmem.free_list;

	if (phys != 0)
		pmem.free_list = *(uint64_t *)phys_to_virt(phys);
	return phys;
}

/* Returns the run and whether it came zero-filled. */
static uint64_t alloc_locked(size_t n, int *is_zero)
{
	uint64_t phys = 0;

	*is_zero = 0;
	if (n == 0 || pmem.free < n)
		return 0;
	if (n == 1)
		phys = pop_free_list();
	if (phys == 0) {
		phys = bump(n);
		*is_zero = pmem.zero_at_boot;
	}
	if (phys != 0)
		pmem.free -= n;
	return phys;
}

uint64_t pmem_alloc_pages(size_t n)
{
	int is_zero;
	uint64_t phys;

	spin_lock(&pmem.lock);
	phys = alloc_locked(n, &is_zero);
	spin_unlock(&pmem.lock);
	return phys;
}

uint64_t pmem_alloc_zeroed_page(void)
{
	int is_zero;
	uint64_t phys;

	spin_lock(&pmem.lock);
	phys = alloc_locked(1, &is_zero);
	spin_unlock(&pmem.lock);
	if (phys != 0 && !is_zero)
		memset(phys_to_virt(phys), 0, PAGE_SIZE);
	return phys;
}

/* Pages that were handed out: inside a range, below its bump pointer. */
static int was_allocated(uint64_t phys, size_t n)
{
	for (unsigned int i = 0; i < pmem.nr_ram; i++)
		if (phys >= pmem.ram[i].start && phys < pmem.ram[i].next &&
		    n <= (pmem.ram[i].next - phys) / PAGE_SIZE)
			return 1;
	return 0;
}

void pmem_free_pages(uint64_t phys, size_t n)
{
	spin_lock(&pmem.lock);
	if (phys % PAGE_SIZE || phys == 0 || n == 0 || !was_allocated(phys, n))
		panic("pmem_free_pages: bad range 0x%lx + %zu pages", phys, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t page = phys + i * PAGE_SIZE;

		*(uint64_t *)phys_to_virt(page) = pmem.free_list;
		pmem.free_list = page;
	}
	pmem.free += n;
	spin_unlock(&pmem.lock);
}

size_t pmem_free_count(void)
{
	return pmem.free;
}

size_t pmem_usable_count(void)
{
	return pmem.usable;
}
