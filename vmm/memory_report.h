/* SPDX-License-Identifier: MIT */
/* `--stats`: what a VM cost, from the guest's own figures and from the
 * host's view of this VMM process (/proc/self/smaps). */
#ifndef LISPVM_VMM_MEMORY_REPORT_H
#define LISPVM_VMM_MEMORY_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <lispvm/abi.h>

#include "dirty_log.h"
#include "working_set.h"

/* A host mapping the report names: guest RAM or one image. */
struct memory_report_region {
	const char *name;
	const void *host;
	uint64_t size;
};

/* Host-side figures for a set of mappings, in KiB, summed from smaps. */
struct memory_usage {
	uint64_t rss, pss, shared, private_;
};

/* Sums the entries of smaps (this process's /proc/self/smaps, opened
 * before the sandbox and not read yet; NULL when it could not be) of the
 * mappings that start inside each region into usage[i], and the whole
 * process into *total.  Returns 0, or -1 when smaps cannot be read. */
int memory_usage_measure(FILE *smaps, const struct memory_report_region *regions, unsigned int n,
			 struct memory_usage *usage, struct memory_usage *total);

/* Prints the report; guest may be NULL (the guest did not exit cleanly).
 * regions[0..nr_ram) are guest RAM, the rest images; smaps as above. */
void memory_report_print(FILE *out, FILE *smaps, const struct lispvm_memory_stats *guest,
			 uint64_t ram_bytes, const struct memory_report_region *regions,
			 unsigned int nr_ram, unsigned int n);

/* The dirty log's rows, after the report; nothing when dirty is NULL. */
void memory_report_print_dirty(FILE *out, const struct dirty_stats *dirty);

/* What --prefetch mapped in before the guest ran. */
void memory_report_print_prefetch(FILE *out, const struct working_set_stats *prefetch);

#endif
