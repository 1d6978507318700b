/* SPDX-License-Identifier: MIT */
/* What the guest tells the VMM about its memory when it exits (`lispvm
 * --stats`): the page allocator's figures and the fault counters below. */
#ifndef GUEST_KERNEL_MEMORY_STATS_H
#define GUEST_KERNEL_MEMORY_STATS_H

#include <lispvm/abi.h>

/* Bumped by the page-fault path; plain counters, as the figures are for
 * people and a lost increment under SMP would not matter. */
struct memory_fault_counters {
	uint64_t page_faults, image_page_maps, cow_copies;
};
extern struct memory_fault_counters memory_fault_counters;

void memory_stats_collect(struct lispvm_memory_stats *out);

#endif
