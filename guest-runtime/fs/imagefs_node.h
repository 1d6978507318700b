/* SPDX-License-Identifier: MIT */
/* How the union of images names a file (see imagefs.h). */
#ifndef GUEST_FS_IMAGEFS_NODE_H
#define GUEST_FS_IMAGEFS_NODE_H

#include <stdint.h>

#include "fs/erofs.h"
#include "kernel/boot_info.h"

#define IMAGEFS_MAX BOOT_MAX_IMAGES

/* The inode in the first image that has the name; for a directory, also
 * which images have a directory there (bit i = image i) and their inode
 * numbers, so listing shows the union. */
struct imagefs_node {
	unsigned int image;
	struct erofs_inode inode;
	uint32_t dir_mask;
	uint64_t dir_nids[IMAGEFS_MAX];
};

#endif
