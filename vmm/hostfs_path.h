/* SPDX-License-Identifier: MIT */
/* Guest paths in a --mount directory: the strict syntax check and the only
 * way they reach the host file system, openat2 beneath the mount's root
 * with no symlinks followed. */
#ifndef LISPVM_VMM_HOSTFS_PATH_H
#define LISPVM_VMM_HOSTFS_PATH_H

#include <stddef.h>
#include <sys/types.h>

/* 0 if path[0..len) is a NUL-terminated guest path as abi.h allows (len
 * counts the NUL, which must be the last byte): "" for the mount's root, or
 * plain names joined by single '/' (no leading or trailing '/', no "." or
 * ".."); -EINVAL otherwise. */
int hostfs_path_check(const char *path, size_t len);

/* 0 if path[0..len) is NUL-terminated at its last byte and nowhere
 * else (a symlink target: any other text is fine); -EINVAL otherwise. */
int hostfs_path_check_text(const char *path, size_t len);

/* open(2) of a checked path beneath root: returns an fd or -errno (-ELOOP
 * when any component, the last one included, is a symlink). */
int hostfs_path_open(int root_fd, const char *path, int flags, mode_t mode);

/* Opens the directory that holds the last component of a checked path
 * (O_PATH) and points *name at that component, for the *at() calls that
 * must act on the entry itself rather than follow it.  The root's name is
 * ".", so those calls give Linux's own errors for it.  Returns an fd or
 * -errno. */
int hostfs_path_parent(int root_fd, const char *path, const char **name);

#endif
