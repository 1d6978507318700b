/* SPDX-License-Identifier: MIT */
/* The kernel's page tables: the direct map of all RAM and the kernel image
 * in the upper half; the lower half is left empty for the Linux program. */
#ifndef GUEST_KERNEL_PAGING_H
#define GUEST_KERNEL_PAGING_H

#include <stdint.h>

#include "kernel/boot_info.h"

#define PTE_PRESENT   (1ull << 0)
#define PTE_WRITE     (1ull << 1)
#define PTE_USER      (1ull << 2)
#define PTE_PWT	      (1ull << 3)
#define PTE_PCD	      (1ull << 4)
#define PTE_LARGE     (1ull << 7)
#define PTE_GLOBAL    (1ull << 8)
#define PTE_NX	      (1ull << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

/* Builds the kernel page tables and switches to them (needs pmem). */
void paging_init(const struct boot_info *bi);

/* Maps [virt, virt + size) to phys with the largest pages that fit.
 * flags: PTE_WRITE, PTE_USER, PTE_GLOBAL, PTE_NX (dropped without NX).
 * Returns 0, or -1 when out of memory for page tables or not page-aligned. */
int paging_map(uint64_t *pml4, uint64_t virt, uint64_t phys, uint64_t size, uint64_t flags);

uint64_t *paging_kernel_pml4(void);

/* The 4 KiB-level entry for virt, allocating the tables on the way when
 * alloc is set (else NULL where a table is missing).  Only for the lower
 * half, which is never mapped with large pages. */
uint64_t *paging_pte(uint64_t *pml4, uint64_t virt, int alloc);

static inline void paging_invalidate(uint64_t virt)
{
	__asm__ volatile("invlpg (%0)" ::"r"(virt) : "memory");
}

#endif
