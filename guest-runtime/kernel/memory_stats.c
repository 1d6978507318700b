/* SPDX-License-Identifier: MIT */
#include "kernel/memory_stats.h"

#include <string.h>

#include "kernel/pmem.h"

struct memory_fault_counters memory_fault_counters;

void memory_stats_collect(struct lispvm_memory_stats *out)
{
	memset(out, 0, sizeof(*out));
	pmem_stats(out);
	out->page_faults = memory_fault_counters.page_faults;
	out->image_page_maps = memory_fault_counters.image_page_maps;
	out->cow_copies = memory_fault_counters.cow_copies;
}
