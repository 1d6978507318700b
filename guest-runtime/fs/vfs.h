/* SPDX-License-Identifier: MIT */
/*
 * The guest's file namespace: path resolution (relative to the process's
 * cwd or a directory descriptor, through symlinks, with Linux's errno
 * values) over what is mounted: the union of read-only images at /, then
 * tmpfs, /dev, /proc and host directories on top.
 *
 * Resolution keeps a canonical, symlink-free path as it goes, so ".." is
 * textual and a mount point is found by its path alone: mount points need
 * not exist in the filesystem below them.
 */
#ifndef GUEST_FS_VFS_H
#define GUEST_FS_VFS_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/vnode.h"
#include "kernel/boot_info.h"

struct file;

/* Makes the images the root and mounts /tmp, /dev, /proc, the host
 * directories and a tmpfs at home (if not NULL and not already covered).
 * Returns 0 or -errno (a corrupt image is -EUCLEAN, with a message). */
int vfs_init(const struct boot_info *bi, const char *home);

/* After a snapshot restore: the host directories of the old command go,
 * bi's come (their mount numbers are the restoring VMM's).  No file may
 * be open on the old ones (the VMM refuses the snapshot otherwise). */
int vfs_remount_hosts(const struct boot_info *bi);

/* Mounts root at the absolute canonical path. */
int vfs_mount(const char *path, const struct vnode *root);

/* A new filesystem instance number (for EXDEV between instances). */
unsigned int vfs_new_fs_id(void);

/* open(2) on a kernel-space path: flags O_*, mode for O_CREAT (umask
 * already applied).  dirfd is AT_FDCWD or a directory descriptor. */
int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode, struct file **out);

/* Resolves path (relative to dirfd) to a node; canon (PATH_MAX bytes, may
 * be NULL) gets the canonical absolute path.  follow_last: follow a
 * symlink in the last component (not for lstat, readlink, O_NOFOLLOW). */
int vfs_resolve(int dirfd, const char *path, bool follow_last, struct vnode *node, char *canon);

int vfs_stat(int dirfd, const char *path, bool follow_last, struct stat *st);
/* readlink(2) into a kernel buffer (NUL-terminated); length or -errno. */
int64_t vfs_readlink(int dirfd, const char *path, char *buf, uint64_t size);

int vfs_mkdir(int dirfd, const char *path, uint32_t mode);
int vfs_unlink(int dirfd, const char *path);
int vfs_rmdir(int dirfd, const char *path);
/* flags: RENAME_NOREPLACE (RENAME_EXCHANGE and others are -EINVAL). */
int vfs_rename(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned int flags);
/* link(2); follow: AT_SYMLINK_FOLLOW. */
int vfs_link(int from_dirfd, const char *from, int to_dirfd, const char *to, bool follow);
int vfs_chmod(int dirfd, const char *path, uint32_t mode, bool follow);
/* utimensat(2) with the times already resolved (VFS_TIME_OMIT keeps). */
int vfs_set_times(int dirfd, const char *path, bool follow, uint64_t atime, uint64_t mtime);
int vfs_symlink(const char *target, int dirfd, const char *path);

#endif
