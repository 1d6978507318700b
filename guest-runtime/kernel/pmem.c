/* SPDX-License-Identifier: MIT */
#include "kernel/pmem.h"

#include <string.h>

#include <lispvm/abi.h>

#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

/*
 * Where a free page is, cheapest to hand out first:
 *  - the dirty list: pages handed back, linked through their first word.
 *    The host backs them; reusing them costs it nothing new.  Capped at
 *    DIRTY_CAP pages: past that, freed pages go back to the host.
 *  - the returned set: pages the host dropped (LISPVM_HC_DISCARD), so
 *    they read zero.  A bitmap with one bit per page frame, since
 *    writing a link into such a page would make the host back it again;
 *    a summary bitmap (one bit per nonzero word) keeps the search short.
 *  - the bump regions: never handed out, still zero as the VMM delivered
 *    them (abi.h), not backed by the host.
 * Freed pages beyond the cap wait in a batch of ranges and go to the host
 * in one hypercall when the batch fills or the freeing operation ends
 * (pmem_return_to_host), so GC-sized frees cost a few exits, not one per
 * page; when the guest goes idle it also gives back most of the dirty
 * list (pmem_trim), so an idle VM holds only what its programs use.  Everything else is a handful
 * of instructions: where ring 0 is emulated (nested PVM) each one costs microseconds, and every
 * page fault of a program allocates.
 */
#define DIRTY_CAP	64 /* 256 KiB of freed memory stays with the guest */
#define IDLE_DIRTY_KEEP 16 /* and 64 KiB of it while nothing runs */

static struct {
	struct spinlock lock;
	struct {
		uint64_t start;	    /* [start, next) has been handed out */
		uint64_t next, end; /* bump region [next, end), page-aligned */
	} ram[BOOT_MAX_RAM_RANGES];
	unsigned int nr_ram;
	unsigned int cur; /* first range with pages left to bump */

	uint64_t dirty_list; /* physical address of the first dirty page */
	size_t dirty;

	uint64_t *returned;	  /* bit per page frame: returned, reads zero */
	uint64_t *returned_words; /* bit per `returned` word that is nonzero */
	size_t returned_nwords;	  /* words of `returned_words` */
	size_t returned_hint;	  /* no nonzero returned_words word below this */
	size_t nr_returned;

	struct lispvm_range batch[LISPVM_DISCARD_MAX_RANGES];
	unsigned int batch_len;
	size_t batched;

	size_t free; /* dirty + returned + batched + bump */
	size_t usable;
	uint64_t discarded_total;
	int can_return; /* lispvm: RAM starts zero and the host takes pages back */
} pmem;

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_down(uint64_t a)
{
	return a & ~(uint64_t)(PAGE_SIZE - 1);
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

/* The two bitmaps come from the bump regions, so they are zero and the
 * host backs only the parts that ever hold a set bit. */
static void returned_set_init(void)
{
	uint64_t top = 0, words, summary_words, bits, summary;

	for (unsigned int i = 0; i < pmem.nr_ram; i++)
		if (pmem.ram[i].end > top)
			top = pmem.ram[i].end;
	words = (top / PAGE_SIZE + 63) / 64;
	summary_words = (words + 63) / 64;
	bits = bump(page_up(words * 8) / PAGE_SIZE);
	summary = bump(page_up(summary_words * 8) / PAGE_SIZE);
	if (bits == 0 || summary == 0) {
		pmem.can_return = 0; /* no room for the bitmaps: keep every page */
		return;
	}
	pmem.returned = phys_to_virt(bits);
	pmem.returned_words = phys_to_virt(summary);
	pmem.returned_nwords = summary_words;
	pmem.returned_hint = summary_words;
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
	}
	/* QEMU's PVH loader promises neither zeroed RAM nor a discard. */
	pmem.can_return = bi->platform == PLATFORM_LISPVM;
	if (pmem.can_return)
		returned_set_init();
	for (unsigned int i = 0; i < pmem.nr_ram; i++)
		pmem.free += (pmem.ram[i].end - pmem.ram[i].next) / PAGE_SIZE;
	pmem.usable = pmem.free;
}

/* ---- the returned set ---- */

static void returned_add(uint64_t phys)
{
	uint64_t pfn = phys / PAGE_SIZE, word = pfn / 64;

	pmem.returned[word] |= 1ull << (pfn % 64);
	pmem.returned_words[word / 64] |= 1ull << (word % 64);
	if (word / 64 < pmem.returned_hint)
		pmem.returned_hint = word / 64;
	pmem.nr_returned++;
}

/* The lowest returned page, or 0. */
static uint64_t returned_take(void)
{
	for (size_t s = pmem.returned_hint; s < pmem.returned_nwords; s++) {
		uint64_t word, bit;

		if (pmem.returned_words[s] == 0)
			continue;
		pmem.returned_hint = s;
		word = s * 64 + (uint64_t)__builtin_ctzll(pmem.returned_words[s]);
		bit = (uint64_t)__builtin_ctzll(pmem.returned[word]);
		pmem.returned[word] &= ~(1ull << bit);
		if (pmem.returned[word] == 0)
			pmem.returned_words[s] &= ~(1ull << (word % 64));
		pmem.nr_returned--;
		return (word * 64 + bit) * PAGE_SIZE;
	}
	pmem.returned_hint = pmem.returned_nwords;
	return 0;
}

/* ---- giving pages back to the host ---- */

/* Sends the batch.  Should the host refuse, the pages stay with the
 * guest (dirty) and later frees keep them too. */
static void flush_batch_locked(void)
{
	int ok;

	if (pmem.batch_len == 0)
		return;
	ok = hypercall(LISPVM_HC_DISCARD, virt_to_phys(pmem.batch), pmem.batch_len) == 0;
	for (unsigned int i = 0; i < pmem.batch_len; i++)
		for (uint64_t off = 0; off < pmem.batch[i].len; off += PAGE_SIZE) {
			uint64_t page = pmem.batch[i].gpa + off;

			if (ok) {
				returned_add(page);
			} else {
				*(uint64_t *)phys_to_virt(page) = pmem.dirty_list;
				pmem.dirty_list = page;
				pmem.dirty++;
			}
		}
	if (ok)
		pmem.discarded_total += pmem.batched;
	else
		pmem.can_return = 0;
	pmem.batch_len = 0;
	pmem.batched = 0;
}

/* Pages freed in address order (or its reverse) join the last range. */
static void batch_add_locked(uint64_t page)
{
	struct lispvm_range *last = pmem.batch_len ? &pmem.batch[pmem.batch_len - 1] : NULL;

	if (last != NULL && last->gpa + last->len == page) {
		last->len += PAGE_SIZE;
	} else if (last != NULL && page + PAGE_SIZE == last->gpa) {
		last->gpa = page;
		last->len += PAGE_SIZE;
	} else {
		if (pmem.batch_len == LISPVM_DISCARD_MAX_RANGES)
			flush_batch_locked();
		pmem.batch[pmem.batch_len++] = (struct lispvm_range){.gpa = page, .len = PAGE_SIZE};
	}
	pmem.batched++;
}

void pmem_return_to_host(void)
{
	spin_lock(&pmem.lock);
	flush_batch_locked();
	spin_unlock(&pmem.lock);
}

static uint64_t pop_dirty(void)
{
	uint64_t phys = pmem.dirty_list;

	if (phys != 0) {
		pmem.dirty_list = *(uint64_t *)phys_to_virt(phys);
		pmem.dirty--;
	}
	return phys;
}

static void trim_to(size_t keep)
{
	spin_lock(&pmem.lock);
	/* A refused flush (can_return drops) puts the pages back on the
	 * dirty list: stop then rather than loop on them. */
	while (pmem.can_return && pmem.dirty > keep)
		batch_add_locked(pop_dirty());
	if (pmem.can_return)
		flush_batch_locked();
	spin_unlock(&pmem.lock);
}

void pmem_trim(void)
{
	trim_to(IDLE_DIRTY_KEEP);
}

void pmem_return_all(void)
{
	trim_to(0);
}

/* ---- allocating and freeing ---- */

/* Returns the run and whether it came zero-filled. */
static uint64_t alloc_locked(size_t n, int *is_zero)
{
	uint64_t phys = 0;

	*is_zero = 0;
	if (n == 0 || pmem.free < n)
		return 0;
	if (n == 1) {
		phys = pop_dirty();
		if (phys == 0 && pmem.nr_returned == 0 && pmem.batched != 0) {
			flush_batch_locked(); /* rather than touch a new page */
			phys = pop_dirty();
		}
		if (phys == 0 && pmem.nr_returned != 0) {
			phys = returned_take();
			*is_zero = 1;
		}
	}
	if (phys == 0) {
		phys = bump(n);
		*is_zero = pmem.can_return;
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
	if (phys % PAGE_SIZE || phys == 0 || n == 0 || !was_allocated(phys, n)) {
		spin_unlock(&pmem.lock); /* panic's exit reads the figures */
		panic("pmem_free_pages: bad range 0x%lx + %zu pages", phys, n);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t page = phys + i * PAGE_SIZE;

		if (pmem.can_return && pmem.dirty >= DIRTY_CAP) {
			batch_add_locked(page);
			continue;
		}
		*(uint64_t *)phys_to_virt(page) = pmem.dirty_list;
		pmem.dirty_list = page;
		pmem.dirty++;
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

/* Without the lock: the exit path (a panic, say) may hold it, and these
 * are figures for people. */
void pmem_stats(struct lispvm_memory_stats *out)
{
	uint64_t touched = 0;

	for (unsigned int i = 0; i < pmem.nr_ram; i++)
		touched += (pmem.ram[i].next - pmem.ram[i].start) / PAGE_SIZE;
	out->ram_pages = pmem.usable;
	out->touched_pages = touched;
	out->in_use_pages = pmem.usable - pmem.free;
	out->returned_pages = pmem.nr_returned;
	out->discarded_total = pmem.discarded_total;
}
