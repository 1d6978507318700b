/* SPDX-License-Identifier: MIT */
/*
 * The host files a running VM holds open, as a snapshot of it keeps them:
 * by mount and path beneath the mount's root, looked up again when the
 * snapshot is resumed, so the guest's handles stay good.  The descriptors
 * themselves live in the VMM process and cannot travel.
 */
#ifndef LISPVM_VMM_HOSTFS_SNAPSHOT_H
#define LISPVM_VMM_HOSTFS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "hostfs.h"

struct hostfs_saved_file {
	uint32_t handle; /* the guest's */
	uint32_t mount;
	int32_t flags; /* open(2)'s access mode, O_APPEND and O_DIRECTORY */
	uint32_t reserved;
	char path[LISPVM_HOSTFS_PATH_MAX]; /* beneath the mount's root; "" is the root */
};

/* A mount's size cap (rw,max-size) and what the VM had added under it:
 * the resumed VM goes on from there, since it is the same VM. */
struct hostfs_saved_cap {
	uint64_t max_size; /* 0: none */
	int64_t used;
};

/* The caps of fs's mounts into out (GUEST_MAX_MOUNTS entries): their
 * number, or 0 when no mount has one. */
unsigned int hostfs_save_caps(const struct hostfs *fs, struct hostfs_saved_cap *out);

/* Every open handle into out (LISPVM_HOSTFS_MAX_HANDLES entries), their
 * number in *n.  0, or -1 with a one-line reason: a file deleted since it
 * was opened, or moved out of its mount, cannot be saved. */
int hostfs_save_files(const struct hostfs *fs, struct hostfs_saved_file *out, unsigned int *n,
		      char *err, size_t err_size);

/* Opens files[0..n) again at their handles, beneath the mounts fs has
 * open now (the snapshot's).  0, or -1 with a one-line reason (a file
 * gone, or a corrupt entry). */
int hostfs_restore_files(struct hostfs *fs, const struct hostfs_saved_file *files, unsigned int n,
			 char *err, size_t err_size);

/* What the VM had added under each cap, for the mounts fs has open now
 * (opened with the caps from the same snapshot). */
void hostfs_restore_caps(struct hostfs *fs, const struct hostfs_saved_cap *caps, unsigned int n);

#endif
