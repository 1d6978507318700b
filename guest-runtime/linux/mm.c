/* SPDX-License-Identifier: MIT */
#include "linux/mm.h"
#include "linux/uaccess.h"

#include <errno.h>
#include <linux/mman.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "fs/file.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/memory_stats.h"
#include "kernel/pmem.h"

#define PAGE_MASK (~(uint64_t)(PAGE_SIZE - 1))

/* Lowest address mmap hands out without MAP_FIXED (as vm.mmap_min_addr
 * keeps page 0 and its neighbours unmapped on Linux). */
#define MMAP_MIN_ADDR 0x10000ull
/* mmap without a hint searches down from here; the stack and its growth
 * room sit above (as Linux's mmap_base below the stack rlimit). */
#define MMAP_TOP 0x7ff000000000ull
/* MAP_32BIT's window, as on Linux: the second GiB up to 2 GiB. */
#define MAP_32BIT_LOW  0x40000000ull
#define MAP_32BIT_HIGH 0x80000000ull

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & PAGE_MASK;
}

void mm_init(struct mm *mm, uint64_t *pml4)
{
	memset(mm, 0, sizeof(*mm));
	mm->pml4 = pml4;
	mm->mmap_top = MMAP_TOP;
}

/* ---- page-table entries ---- */

/* soft: PTE_OWNED (a private page), PTE_SHARED (a file's own page) or
 * 0 (a read-only image page). */
static uint64_t pte_make(uint64_t phys, uint32_t prot, uint64_t soft)
{
	uint64_t pte = phys | soft;

	if (prot == PROT_NONE)
		return pte | PTE_PROTNONE;
	pte |= PTE_PRESENT | PTE_USER;
	/* Image pages stay read-only: the first write copies them. */
	if ((prot & PROT_WRITE) && soft != 0)
		pte |= PTE_WRITE;
	if (!(prot & PROT_EXEC))
		pte |= PTE_NX;
	return pte;
}

static void pte_release(uint64_t *pte, uint64_t va)
{
	if (*pte & PTE_OWNED)
		pmem_free_pages(*pte & PTE_ADDR_MASK, 1);
	*pte = 0;
	paging_invalidate(va);
}

static unsigned int table_index(uint64_t va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * level)) & 511;
}

static uint64_t next_boundary(uint64_t va, int level)
{
	uint64_t span = 1ull << (PAGE_SHIFT + 9 * level);

	return (va & ~(span - 1)) + span;
}

typedef void (*pte_fn)(uint64_t *pte, uint64_t va, void *ctx);

/* Calls fn for every non-empty 4 KiB entry in [start, end), skipping
 * whole tables that are absent: a 1 GiB reservation with three touched
 * pages costs a few steps, not 262144. */
static void for_each_pte(struct mm *mm, uint64_t start, uint64_t end, pte_fn fn, void *ctx)
{
	uint64_t va = start;

	while (va < end) {
		uint64_t *table = mm->pml4;
		int level;

		for (level = 3; level > 0; level--) {
			uint64_t e = table[table_index(va, level)];

			if (!(e & PTE_PRESENT))
				break;
			table = phys_to_virt(e & PTE_ADDR_MASK);
		}
		if (level > 0) {
			va = next_boundary(va, level);
			continue;
		}
		for (unsigned int i = table_index(va, 0); i < 512 && va < end; i++, va += PAGE_SIZE)
			if (table[i] != 0)
				fn(&table[i], va, ctx);
	}
}

/* Frees the page tables of the 2 MiB spans wholly inside [start, end),
 * whose entries the caller has just cleared: a GiB of heap given back
 * would otherwise leave 2 MiB of empty tables behind.  The tables above
 * (one per GiB) stay. */
static void free_tables(uint64_t *phys, unsigned int *n)
{
	/* Paging-structure caches may hold the old entries: flush them before
	 * the pages can be reused. */
	if (*n == 0)
		return;
	write_cr3(read_cr3());
	for (unsigned int i = 0; i < *n; i++)
		pmem_free_pages(phys[i], 1);
	*n = 0;
}

static void free_empty_tables(struct mm *mm, uint64_t start, uint64_t end)
{
	const uint64_t span = 1ull << (PAGE_SHIFT + 9);
	uint64_t unlinked[64];
	unsigned int n = 0;

	for (uint64_t va = (start + span - 1) & ~(span - 1); va < end && end - va >= span;
	     va += span) {
		uint64_t *table = mm->pml4, *entry = NULL;

		for (int level = 3; level >= 1; level--) {
			entry = &table[table_index(va, level)];
			if (!(*entry & PTE_PRESENT) || (*entry & PTE_LARGE)) {
				entry = NULL;
				break;
			}
			if (level > 1)
				table = phys_to_virt(*entry & PTE_ADDR_MASK);
		}
		if (entry == NULL)
			continue;
		unlinked[n++] = *entry & PTE_ADDR_MASK;
		*entry = 0;
		if (n == sizeof(unlinked) / sizeof(unlinked[0]))
			free_tables(unlinked, &n);
	}
	free_tables(unlinked, &n);
}

static void release_fn(uint64_t *pte, uint64_t va, void *ctx)
{
	(void)ctx;
	pte_release(pte, va);
}

static void reprotect_fn(uint64_t *pte, uint64_t va, void *ctx)
{
	uint32_t prot = *(uint32_t *)ctx;

	*pte = pte_make(*pte & PTE_ADDR_MASK, prot, *pte & (PTE_OWNED | PTE_SHARED));
	paging_invalidate(va);
}

/* ---- the area list ---- */

struct vma *mm_find(struct mm *mm, uint64_t addr)
{
	for (struct vma *v = mm->areas; v != NULL && v->start <= addr; v = v->next)
		if (addr < v->end)
			return v;
	return NULL;
}

static void backing_hold(struct mm_backing *b)
{
	if (b->kind == VMA_FILE || b->kind == VMA_SHARED)
		file_get(b->file);
}

static void vma_free(struct vma *v)
{
	if (v->backing.kind == VMA_FILE || v->backing.kind == VMA_SHARED)
		file_put(v->backing.file);
	kfree(v);
}

/* Moves the backing's origin forward by delta bytes of address space. */
static void backing_advance(struct mm_backing *b, uint64_t delta)
{
	b->offset += delta;
	b->image_phys += delta;
	b->file_bytes = b->file_bytes > delta ? b->file_bytes - delta : 0;
}

static void link_after(struct mm *mm, struct vma *prev, struct vma *v)
{
	v->prev = prev;
	v->next = prev ? prev->next : mm->areas;
	if (v->next)
		v->next->prev = v;
	if (prev)
		prev->next = v;
	else
		mm->areas = v;
}

static void unlink_vma(struct mm *mm, struct vma *v)
{
	if (v->prev)
		v->prev->next = v->next;
	else
		mm->areas = v->next;
	if (v->next)
		v->next->prev = v->prev;
}

/* Splits v at addr (inside it); v keeps the lower part.  -ENOMEM. */
static int split(struct mm *mm, struct vma *v, uint64_t addr)
{
	struct vma *hi = kmalloc(sizeof(*hi));

	if (hi == NULL)
		return -ENOMEM;
	*hi = *v;
	hi->start = addr;
	backing_advance(&hi->backing, addr - v->start);
	backing_hold(&hi->backing);
	v->end = addr;
	link_after(mm, v, hi);
	return 0;
}

/* Makes area boundaries fall on start and end, so [start, end) is a run
 * of whole areas. */
static int isolate(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = mm_find(mm, start);

	if (v != NULL && v->start < start && split(mm, v, start) < 0)
		return -ENOMEM;
	v = mm_find(mm, end - 1);
	if (v != NULL && v->end > end && split(mm, v, end) < 0)
		return -ENOMEM;
	return 0;
}

static bool range_is_free(struct mm *mm, uint64_t start, uint64_t end)
{
	for (struct vma *v = mm->areas; v != NULL && v->start < end; v = v->next)
		if (v->end > start)
			return false;
	return true;
}

/* Highest gap of len bytes within [low, high), or 0. */
static uint64_t find_gap(struct mm *mm, uint64_t len, uint64_t low, uint64_t high)
{
	struct vma *last = NULL;
	uint64_t ceiling = high;

	for (struct vma *v = mm->areas; v != NULL; v = v->next)
		last = v;
	/* Walk downwards from the top, through the gaps between areas. */
	for (struct vma *v = last;; v = v->prev) {
		uint64_t floor = v ? v->end : low;

		if (floor < low)
			floor = low;
		if (v == NULL || v->end <= ceiling) {
			if (ceiling >= floor && ceiling - floor >= len)
				return ceiling - len;
			if (v == NULL)
				return 0;
		}
		if (v->start < ceiling)
			ceiling = v->start;
		if (ceiling <= low)
			return 0;
	}
}

static void remove_range(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = mm->areas;

	for_each_pte(mm, start, end, release_fn, NULL);
	free_empty_tables(mm, start, end);
	while (v != NULL) {
		struct vma *next = v->next;

		if (v->start >= start && v->end <= end) {
			unlink_vma(mm, v);
			vma_free(v);
		}
		v = next;
	}
}

static bool can_merge(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot && a->flags == b->flags &&
	       a->backing.kind == VMA_ANON && b->backing.kind == VMA_ANON;
}

/* Joins v with equal anonymous neighbours, so that brk growth and
 * repeated mprotect do not leave a trail of areas. */
/* Merges every mergeable pair from the area before start to the one
 * after end.  Only the later area of a pair is freed and the walk holds
 * the earlier one, so no freed area is touched. */
static void merge_range(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = mm_find(mm, start);

	if (v != NULL && v->prev != NULL)
		v = v->prev;
	while (v != NULL && v->start <= end) {
		struct vma *n = v->next;

		if (n != NULL && can_merge(v, n)) {
			v->end = n->end;
			unlink_vma(mm, n);
			vma_free(n);
		} else {
			v = n;
		}
	}
}

static void merge_around(struct mm *mm, struct vma *v)
{
	if (v->next && can_merge(v, v->next)) {
		struct vma *n = v->next;

		v->end = n->end;
		unlink_vma(mm, n);
		vma_free(n);
	}
	if (v->prev && can_merge(v->prev, v)) {
		struct vma *p = v->prev;

		p->end = v->end;
		unlink_vma(mm, v);
		vma_free(v);
	}
}

#define PTES_PER_TABLE 512

/* Maps the image pages of v that lie in [from, to). */
static void populate_image_range(struct mm *mm, struct vma *v, uint64_t from, uint64_t to)
{
	uint64_t end = v->start + page_up(v->backing.file_bytes);
	uint64_t entry = pte_make(v->backing.image_phys, v->prot, 0);
	uint64_t first = from > v->start ? from : v->start;

	if (v->prot == PROT_NONE)
		return;
	if (end > v->end)
		end = v->end;
	if (end > to)
		end = to;
	if (end > first)
		memory_fault_counters.image_page_maps += (end - first) / PAGE_SIZE;
	/* Mapped now rather than on fault: filling an entry is a few
	 * instructions, a fault is a trip through the kernel (see
	 * docs/architecture.md on PVM). */
	for (uint64_t va = first; va < end;) {
		/* One table walk per page table, then a store per page. */
		uint64_t *pte = paging_pte(mm->pml4, va, 1);
		uint64_t table_end = (va | (PTES_PER_TABLE * PAGE_SIZE - 1)) + 1;

		if (pte == NULL)
			return; /* out of memory for tables: faults will retry */
		for (; va < end && va < table_end; va += PAGE_SIZE)
			*pte++ = entry + (va - v->start);
	}
}

static void populate_image(struct mm *mm, struct vma *v)
{
	populate_image_range(mm, v, v->start, v->end);
}

static int64_t place(struct mm *mm, uint64_t addr, uint64_t len, uint32_t flags)
{
	uint64_t low = MMAP_MIN_ADDR, high = mm->mmap_top;

	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		if (addr > USER_SPACE_END || len > USER_SPACE_END - addr)
			return -ENOMEM;
		if ((flags & MAP_FIXED_NOREPLACE) && !range_is_free(mm, addr, addr + len))
			return -EEXIST;
		return (int64_t)addr;
	}
	/* MAP_32BIT searches the second GiB, but a free hint below its top
	 * wins, as on Linux (SBCL asks for 0x50000000 this way). */
	if (flags & MAP_32BIT) {
		low = MAP_32BIT_LOW;
		high = MAP_32BIT_HIGH;
	}
	if (addr != 0) {
		uint64_t top = (flags & MAP_32BIT) ? MAP_32BIT_HIGH : USER_SPACE_END;

		addr = page_up(addr);
		if (addr >= MMAP_MIN_ADDR && addr < top && len <= top - addr &&
		    range_is_free(mm, addr, addr + len))
			return (int64_t)addr;
	}
	addr = find_gap(mm, len, low, high);
	return addr ? (int64_t)addr : -ENOMEM;
}

int64_t mm_map(struct mm *mm, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
	       const struct mm_backing *backing)
{
	struct vma *v, *prev = NULL;
	int64_t where;

	if (len == 0)
		return -EINVAL;
	len = page_up(len);
	if (len == 0 || len > USER_SPACE_END)
		return -ENOMEM;
	where = place(mm, addr, len, flags);
	if (where < 0)
		return where;
	v = kzalloc(sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	if (!range_is_free(mm, (uint64_t)where, (uint64_t)where + len)) {
		if (isolate(mm, (uint64_t)where, (uint64_t)where + len) < 0) {
			kfree(v);
			return -ENOMEM;
		}
		remove_range(mm, (uint64_t)where, (uint64_t)where + len);
	}
	*v = (struct vma){.start = (uint64_t)where,
			  .end = (uint64_t)where + len,
			  .prot = prot,
			  .flags = flags & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN),
			  .backing = *backing};
	backing_hold(&v->backing);
	for (struct vma *p = mm->areas; p != NULL && p->start < v->start; p = p->next)
		prev = p;
	link_after(mm, prev, v);
	if (v->backing.kind == VMA_IMAGE)
		populate_image(mm, v);
	else
		merge_around(mm, v);
	return where;
}

static int check_range(uint64_t addr, uint64_t len)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (len == 0 || addr >= USER_SPACE_END || page_up(len) > USER_SPACE_END - addr)
		return -EINVAL;
	return 0;
}

int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	int rc = check_range(addr, len);

	if (rc < 0)
		return rc;
	len = page_up(len);
	if (isolate(mm, addr, addr + len) < 0)
		return -ENOMEM;
	remove_range(mm, addr, addr + len);
	pmem_return_to_host();
	return 0;
}

int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, uint32_t prot)
{
	uint64_t end, covered;
	int rc = check_range(addr, len);

	if (rc < 0)
		return rc;
	if (prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	end = addr + page_up(len);
	/* Linux: the whole range must be mapped, else ENOMEM. */
	covered = addr;
	for (struct vma *v = mm->areas; v != NULL && v->start < end; v = v->next)
		if (v->end > covered && v->start <= covered)
			covered = v->end;
	if (covered < end)
		return -ENOMEM;
	if (isolate(mm, addr, end) < 0)
		return -ENOMEM;
	for (struct vma *v = mm_find(mm, addr); v != NULL && v->start < end; v = v->next)
		v->prot = prot;
	merge_range(mm, addr, end);
	for_each_pte(mm, addr, end, reprotect_fn, &prot);
	return 0;
}

bool mm_range_mapped(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t at = addr, end = addr + page_up(len);

	for (struct vma *v = mm->areas; v != NULL && at < end; v = v->next) {
		if (v->end <= at)
			continue;
		if (v->start > at)
			return false;
		at = v->end;
	}
	return at >= end;
}

int mm_discard(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + page_up(len);
	int rc = len == 0 ? 0 : check_range(addr, len);

	if (rc < 0 || len == 0)
		return rc;
	/* Shared anonymous memory lives on in its object (for the one
	 * process here: in these very pages), so only private areas drop. */
	for (struct vma *v = mm->areas; v != NULL && v->start < end; v = v->next) {
		uint64_t from = v->start > addr ? v->start : addr, to = v->end < end ? v->end : end;

		if (v->end <= addr || (v->flags & MAP_SHARED))
			continue;
		for_each_pte(mm, from, to, release_fn, NULL);
		if (v->backing.kind != VMA_IMAGE)
			free_empty_tables(mm, from, to);
	}
	/* Image areas read the file again in the range, as Linux does for
	 * private file mappings; copies outside it stay. */
	for (struct vma *v = mm->areas; v != NULL && v->start < end; v = v->next)
		if (v->end > addr && v->backing.kind == VMA_IMAGE && !(v->flags & MAP_SHARED))
			populate_image_range(mm, v, addr, end);
	pmem_return_to_host();
	return 0;
}

/* ---- faults ---- */

static bool access_allowed(uint32_t prot, unsigned int access)
{
	if ((access & MM_ACCESS_WRITE) && !(prot & PROT_WRITE))
		return false;
	if ((access & MM_ACCESS_EXEC) && !(prot & PROT_EXEC))
		return false;
	return prot != PROT_NONE;
}

static int fill_from_file(struct vma *v, uint64_t page, uint64_t phys)
{
	uint64_t delta = page - v->start;
	uint64_t n = v->backing.file_bytes > delta ? v->backing.file_bytes - delta : 0;

	if (n > PAGE_SIZE)
		n = PAGE_SIZE;
	if (n == 0)
		return 0;
	return file_read_kernel(v->backing.file, phys_to_virt(phys), n, v->backing.offset + delta) <
			       0
		       ? -1
		       : 0;
}

/* The page of the area at page: a fresh owned one, unless it is an image
 * page that may be shared (read access) or a shared file's own page. */
static uint64_t populate(struct vma *v, uint64_t page, bool write, uint64_t *soft)
{
	uint64_t delta = page - v->start, phys;

	*soft = PTE_OWNED;
	if (v->backing.kind == VMA_SHARED) {
		*soft = PTE_SHARED;
		return v->backing.file->ops->page(v->backing.file, v->backing.offset + delta);
	}
	if (v->backing.kind == VMA_IMAGE && delta < v->backing.file_bytes) {
		uint64_t src = v->backing.image_phys + delta;

		if (!write) {
			*soft = 0;
			memory_fault_counters.image_page_maps++;
			return src;
		}
		phys = pmem_alloc_pages(1);
		if (phys != 0) {
			uaccess_copy(phys_to_virt(phys), phys_to_virt(src), PAGE_SIZE);
			memory_fault_counters.cow_copies++;
		}
		return phys;
	}
	phys = pmem_alloc_zeroed_page();
	if (phys != 0 && v->backing.kind == VMA_FILE && fill_from_file(v, page, phys) < 0) {
		pmem_free_pages(phys, 1);
		return 0;
	}
	return phys;
}

/* A write to a present read-only image page in a writable area. */
static enum mm_fault_result copy_on_write(struct vma *v, uint64_t *pte, uint64_t page)
{
	uint64_t phys = pmem_alloc_pages(1);

	if (phys == 0)
		return MM_FAULT_NO_MEMORY;
	uaccess_copy(phys_to_virt(phys), phys_to_virt(*pte & PTE_ADDR_MASK), PAGE_SIZE);
	memory_fault_counters.cow_copies++;
	*pte = pte_make(phys, v->prot, PTE_OWNED);
	paging_invalidate(page);
	return MM_FAULT_DONE;
}

enum mm_fault_result mm_fault(struct mm *mm, uint64_t addr, unsigned int access)
{
	uint64_t page = addr & PAGE_MASK, *pte, phys;
	struct vma *v = mm_find(mm, addr);
	uint64_t soft;

	memory_fault_counters.page_faults++;
	if (v == NULL)
		return MM_FAULT_UNMAPPED;
	if (!access_allowed(v->prot, access))
		return MM_FAULT_PROTECTED;
	pte = paging_pte(mm->pml4, page, 1);
	if (pte == NULL)
		return MM_FAULT_NO_MEMORY;
	if (*pte & PTE_PRESENT) {
		if ((access & MM_ACCESS_WRITE) && !(*pte & PTE_WRITE) &&
		    !(*pte & (PTE_OWNED | PTE_SHARED)))
			return copy_on_write(v, pte, page);
		/* Already resolved (a stale TLB entry): retry. */
		paging_invalidate(page);
		return MM_FAULT_DONE;
	}
	phys = populate(v, page, access & MM_ACCESS_WRITE, &soft);
	if (phys == 0)
		return MM_FAULT_NO_MEMORY;
	*pte = pte_make(phys, v->prot, soft);
	paging_invalidate(page);
	return MM_FAULT_DONE;
}

/* ---- brk and mremap ---- */

uint64_t mm_brk(struct mm *mm, uint64_t new_brk)
{
	uint64_t old_end = page_up(mm->brk), new_end = page_up(new_brk);
	struct mm_backing anon = {.kind = VMA_ANON};

	if (new_brk < mm->brk_start || new_brk >= USER_SPACE_END)
		return mm->brk;
	if (new_end > old_end) {
		/* As mmap's overcommit check: a heap larger than RAM fails. */
		if ((new_end - page_up(mm->brk_start)) / PAGE_SIZE > pmem_usable_count())
			return mm->brk;
		if (!range_is_free(mm, old_end, new_end))
			return mm->brk;
		if (mm_map(mm, old_end, new_end - old_end, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_FIXED, &anon) < 0)
			return mm->brk;
	} else if (new_end < old_end) {
		mm_unmap(mm, new_end, old_end - new_end);
	}
	mm->brk = new_brk;
	return new_brk;
}

struct move_ctx {
	struct mm *mm;
	uint64_t from, to;
	bool failed;
};

static void move_fn(uint64_t *pte, uint64_t va, void *ctx)
{
	struct move_ctx *m = ctx;
	uint64_t *dst = paging_pte(m->mm->pml4, va - m->from + m->to, 1);

	if (dst == NULL) {
		m->failed = true;
		return;
	}
	*dst = *pte;
	*pte = 0;
	paging_invalidate(va);
}

int64_t mm_remap(struct mm *mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		 uint32_t flags, uint64_t new_addr)
{
	struct vma *v = mm_find(mm, old_addr);
	struct move_ctx move = {.mm = mm, .from = old_addr};
	struct mm_backing backing;
	int64_t where;

	if ((old_addr & (PAGE_SIZE - 1)) || new_len == 0 ||
	    (flags & ~(uint32_t)(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return -EINVAL;
	/* Lengths that wrap when rounded, or ranges past the lower half. */
	if (old_len > USER_SPACE_END || new_len > USER_SPACE_END || old_addr >= USER_SPACE_END)
		return -EINVAL;
	old_len = page_up(old_len);
	new_len = page_up(new_len);
	if (old_len > USER_SPACE_END - old_addr)
		return -EFAULT;
	if ((flags & MREMAP_FIXED) &&
	    ((new_addr & (PAGE_SIZE - 1)) || new_addr >= USER_SPACE_END ||
	     new_len > USER_SPACE_END - new_addr ||
	     (new_addr < old_addr + old_len && old_addr < new_addr + new_len)))
		return -EINVAL;
	/* The old range may be any part of one area (neighbours merge). */
	if (v == NULL || v->end < old_addr + old_len || old_len == 0)
		return -EFAULT;
	if (new_len <= old_len && !(flags & MREMAP_FIXED)) {
		if (new_len < old_len)
			mm_unmap(mm, old_addr + new_len, old_len - new_len);
		return (int64_t)old_addr;
	}
	if (!(flags & MREMAP_FIXED) && new_len <= USER_SPACE_END - old_addr &&
	    range_is_free(mm, old_addr + old_len, old_addr + new_len) &&
	    v->end == old_addr + old_len) {
		v->end = old_addr + new_len; /* grow in place */
		return (int64_t)old_addr;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	backing = v->backing;
	backing_advance(&backing, old_addr - v->start);
	where = mm_map(mm, new_addr, new_len, v->prot,
		       v->flags | ((flags & MREMAP_FIXED) ? MAP_FIXED : 0), &backing);
	if (where < 0)
		return where;
	move.to = (uint64_t)where;
	/* Pages past a smaller new size stay behind and go with the unmap. */
	for_each_pte(mm, old_addr, old_addr + (new_len < old_len ? new_len : old_len), move_fn,
		     &move);
	if (move.failed)
		return -ENOMEM;
	mm_unmap(mm, old_addr, old_len);
	return where;
}
