/* SPDX-License-Identifier: MIT */
/*
 * The read-only root: the union of the EROFS images the VMM mapped, first
 * image first.  A name resolves in the first image that has it; a
 * directory present in several images lists the entries of all of them.
 * Files are served straight from the mapped image: no exits, and mmap
 * maps the image pages themselves.
 */
#ifndef GUEST_FS_IMAGEFS_H
#define GUEST_FS_IMAGEFS_H

#include <asm/stat.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/erofs.h"
#include "kernel/boot_info.h"

#define IMAGEFS_MAX BOOT_MAX_IMAGES

struct file;

/* A resolved name: the inode in the first image that has it; for a
 * directory, also which images have a directory there (bit i = image i)
 * and their inode numbers. */
struct imagefs_node {
	unsigned int image;
	struct erofs_inode inode;
	uint32_t dir_mask;
	uint64_t dir_nids[IMAGEFS_MAX];
};

/* Mounts the images; -EUCLEAN (after naming the image) if one is corrupt. */
int imagefs_init(const struct boot_info *bi);

/* The root directory. */
void imagefs_root(struct imagefs_node *out);

/* Looks name up in directory dir.  0, -ENOENT, -ENOTDIR, -EUCLEAN. */
int imagefs_lookup(const struct imagefs_node *dir, const char *name, uint64_t namelen,
		   struct imagefs_node *out);

/* A symlink's target into buf (NUL-terminated); its length or -errno. */
int64_t imagefs_readlink(const struct imagefs_node *n, char *buf, uint64_t size);

void imagefs_stat(const struct imagefs_node *n, struct stat *st);

/* An open file for n (flags O_*; writing is -EROFS). */
int imagefs_open(const struct imagefs_node *n, uint32_t flags, const char *path, struct file **out);

#endif
