/* SPDX-License-Identifier: MIT */
/* A snapshot and, when it is a diff, the bases under it, opened and
 * checked as one: what a restore maps, bottom first. */
#ifndef LISPVM_VMM_SNAPSHOT_CHAIN_H
#define LISPVM_VMM_SNAPSHOT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_file.h"

#define SNAPSHOT_MAX_CHAIN 16

struct snapshot_level {
	struct snapshot_file f; /* f.path names it */
	struct snapshot_extent *extents, *zeroed;
	uint64_t nr_extents, nr_zeroed;
};

struct snapshot_chain {
	struct snapshot_level level[SNAPSHOT_MAX_CHAIN]; /* [0]: the file named */
	unsigned int n;
};

/* Opens path and, for a diff, each base in turn: every header checked,
 * each base the very file the diff was taken over (its header checksum),
 * all of one guest runtime and RAM size, each level's page lists read
 * and its stored pages verified.  0, or -1 with one line in err naming
 * the file at fault; close the chain either way. */
int snapshot_chain_open(struct snapshot_chain *c, const char *path, char *err, size_t err_size);
void snapshot_chain_close(struct snapshot_chain *c);

/* Which of a chain's n files (paths[0] the snapshot named, then its
 * bases) file is, by device and inode: its index, or -1. */
int snapshot_chain_find(const char *const *paths, unsigned int n, const char *file);

/* A diff written to out over such a chain must not replace one of its
 * files, and must leave the chain short enough to restore: 0, or -1 with
 * one line in err. */
int snapshot_chain_check_diff_target(const char *const *paths, unsigned int n, const char *out,
				     char *err, size_t err_size);

#endif
