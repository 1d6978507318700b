/* SPDX-License-Identifier: MIT */
/* --mount host directories: the LISPVM_HC_HOSTFS file operations, served
 * beneath each mount's root directory (abi.h, "Host directories"). */
#ifndef LISPVM_VMM_HOSTFS_H
#define LISPVM_VMM_HOSTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "guest_memory.h"
#include "guest_params.h"

struct hostfs_mount {
	int root_fd; /* O_PATH: every lookup starts here */
	bool readonly;
	/* rw,max-size: the most this VM may add to the mount's disk usage (0:
	 * no cap), and what it has added so far, net of what it freed (below
	 * 0 once it freed more than it added).  vmm/hostfs_quota.h. */
	uint64_t max_size;
	int64_t used;
};

/* A file the VMM holds open for the guest; the handle is its index. */
struct hostfs_handle {
	int fd;
	bool used; /* so that an all-zero struct hostfs holds nothing */
	/* What a snapshot of a running VM needs to open it again: its mount
	 * and its access mode, O_APPEND and O_DIRECTORY. */
	uint32_t mount;
	int reopen_flags;
};

struct hostfs {
	struct hostfs_mount mounts[GUEST_MAX_MOUNTS];
	unsigned int nr_mounts;
	struct hostfs_handle handles[LISPVM_HOSTFS_MAX_HANDLES];
};

/* Opens the host directory of each of mounts[0..n) into fs (which starts
 * zeroed), or duplicates the one given (root_given).  Returns 0, or -1 with a one-line reason in
 * err (a missing directory, or a host without openat2). */
int hostfs_open(struct hostfs *fs, const struct guest_mount *mounts, unsigned int n, char *err,
		size_t err_size);

/* How many files the guest holds open. */
unsigned int hostfs_open_handles(const struct hostfs *fs);

/* Closes every mount and handle. */
void hostfs_close(struct hostfs *fs);

/* Serves the struct lispvm_hostfs_req of req_size bytes at req_gpa and
 * returns the hypercall's result (>= 0 or -errno).  Sets *broken, after a
 * one-line message, when the request or a buffer it names lies outside
 * guest RAM: the caller stops the VM. */
int64_t hostfs_serve(struct hostfs *fs, const struct guest_memory *mem, uint64_t req_gpa,
		     uint64_t req_size, bool *broken);

#endif
