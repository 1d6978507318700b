/* SPDX-License-Identifier: MIT */
/* The host files a restore from a snapshot will open, read from the
 * snapshot's headers alone (no page is read or verified): for a jail,
 * which must show them to the VMM before the VMM looks. */
#ifndef LISPVM_VMM_SNAPSHOT_PATHS_H
#define LISPVM_VMM_SNAPSHOT_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "guest_params.h"
#include "snapshot_chain.h"
#include "snapshot_file.h"
#include "snapshot_machine.h"

struct snapshot_paths {
	/* The file named, then each base under it. */
	char chain[SNAPSHOT_MAX_CHAIN][SNAPSHOT_BASE_PATH_MAX];
	unsigned int nr_chain;
	char images[GUEST_MAX_IMAGES][SNAPSHOT_PATH_MAX];
	unsigned int nr_images;
	/* A running VM's mounts, which its resume opens again; none for a
	 * prepared snapshot, whose program gets the restoring command's. */
	char mounts[GUEST_MAX_MOUNTS][SNAPSHOT_PATH_MAX];
	bool mount_readonly[GUEST_MAX_MOUNTS];
	unsigned int nr_mounts;
};

/* Fills out from the snapshot at path and its bases.  0, or -1 with one
 * line in err (the restore itself would refuse the same file, saying
 * more). */
int snapshot_paths_read(const char *path, struct snapshot_paths *out, char *err, size_t err_size);

#endif
