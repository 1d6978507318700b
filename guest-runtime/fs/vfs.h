/* SPDX-License-Identifier: MIT */
/*
 * The guest's file namespace: path resolution (relative to the process's
 * cwd, through symlinks, with Linux's errno values) over what is mounted:
 * the union of read-only images at /, later tmpfs, /dev, /proc and host
 * mounts.
 */
#ifndef GUEST_FS_VFS_H
#define GUEST_FS_VFS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/boot_info.h"

struct file;

/* Makes the images the root (call once at boot).  Returns 0 or -errno
 * (a corrupt image is -EUCLEAN, with a message naming it). */
int vfs_init(const struct boot_info *bi);

/* open(2) on a kernel-space path: flags O_*, mode for O_CREAT.  dirfd is
 * AT_FDCWD or a directory descriptor. */
int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode, struct file **out);

struct imagefs_node;

/* Resolves path (relative to dirfd) to a node; canon (PATH_MAX bytes, may
 * be NULL) gets the canonical absolute path.  follow_last: follow a
 * symlink in the last component (not for lstat, readlink, O_NOFOLLOW). */
int vfs_resolve(int dirfd, const char *path, bool follow_last, struct imagefs_node *node,
		char *canon);

#endif
