/* SPDX-License-Identifier: MIT */
/*
 * A restored VM's working set (REAP's idea, docs/snapshots.md): the guest
 * pages one run from a snapshot touched, recorded when it ends from the
 * host's page tables (/proc/self/pagemap), and populated up front by
 * later runs from the same snapshot, so that their first touch of a page
 * finds it mapped instead of faulting it in from the file.  KVM's dirty
 * log cannot record it: it sees writes, and most of a working set is
 * read.
 *
 * The file is a snapshot container (snapshot_file.h) flagged
 * SNAPSHOT_FLAG_WORKING_SET: its WS_SNAPSHOT section names the snapshot it
 * was recorded from by header checksum, and its WS_RUNS section holds
 * runs of pages, each read or written.
 */
#ifndef LISPVM_VMM_WORKING_SET_H
#define LISPVM_VMM_WORKING_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_memory.h"

#define WORKING_SET_MAX_RUNS (1u << 20)

enum working_set_kind {
	WORKING_SET_READ = 1, /* mapped from the file or the zero page */
	/* A private copy: written by the guest or the VMM (or read, on a
	 * kernel that gives a read of anonymous memory its own page). */
	WORKING_SET_WRITTEN = 2,
};

/* Guest-physical pages [gpa, gpa + pages * 4 KiB), in address order. */
struct working_set_run {
	uint64_t gpa;
	uint32_t pages;
	uint32_t kind; /* enum working_set_kind */
};

struct working_set_stats {
	uint64_t read_pages, written_pages;
	uint64_t elapsed_ns;
};

/* Opens /proc/self/pagemap, before anything can take /proc away; -1 with
 * a reason, or the descriptor. */
int working_set_open_pagemap(char *err, size_t err_size);

/* The snapshot a working set belongs to: the restored file (the top of
 * its chain) and what its header says. */
struct working_set_origin {
	const char *snapshot_path;
	uint64_t snapshot_checksum; /* its header checksum */
	uint64_t runtime_hash, memory_size;
};

/* Writes PATH (beside it, then renamed into place): every page of mem's
 * regions that the host has mapped now, read through pagemap_fd.  0, or
 * -1 with a reason. */
int working_set_record(const struct guest_memory *mem, int pagemap_fd,
		       const struct working_set_origin *origin, const char *path,
		       struct working_set_stats *stats, char *err, size_t err_size);

/* Reads PATH and checks it against the snapshot and mem: *runs is
 * malloc'd.  0, or -1 with a one-line reason naming PATH. */
int working_set_load(const struct guest_memory *mem, const struct working_set_origin *origin,
		     const char *path, struct working_set_run **runs, uint64_t *nr_runs, char *err,
		     size_t err_size);

/* Maps the runs' pages in ahead of the guest: read pages from the file (or
 * the zero page), written ones as private copies.  0, or -1 with a reason. */
int working_set_populate(const struct guest_memory *mem, const struct working_set_run *runs,
			 uint64_t nr_runs, struct working_set_stats *stats, char *err,
			 size_t err_size);

#endif
