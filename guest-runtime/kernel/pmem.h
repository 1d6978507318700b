/* SPDX-License-Identifier: MIT */
/* Physical page allocator: a bump pointer through never-used RAM, a
 * capped list of freed pages, and pages given back to the host (see
 * pmem.c).  RAM nobody uses is never touched and costs the host nothing. */
#ifndef GUEST_KERNEL_PMEM_H
#define GUEST_KERNEL_PMEM_H

#include <stddef.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "kernel/boot_info.h"

void pmem_init(const struct boot_info *bi);

/* Physical address of n contiguous free pages, or 0 when there are none
 * (page 0 is never handed out). */
uint64_t pmem_alloc_pages(size_t n);
void pmem_free_pages(uint64_t phys, size_t n);

/* One page, filled with zeros; 0 when out of memory. */
uint64_t pmem_alloc_zeroed_page(void);

/* Gives the freed pages waiting in the batch back to the host now; called
 * when an operation that frees memory (munmap, MADV_DONTNEED) ends, so
 * the host's memory follows the program's. */
void pmem_return_to_host(void);

/* Nothing runs: gives the batch and all but a few dirty pages back. */
void pmem_trim(void);
/* Before a snapshot: every free page back, so none is stored. */
void pmem_return_all(void);

/* Fills the allocator's fields of *out (ram, touched, in use, returned,
 * discarded). */
void pmem_stats(struct lispvm_memory_stats *out);

size_t pmem_free_count(void);
size_t pmem_usable_count(void);

#endif
