/* SPDX-License-Identifier: MIT */
/*
 * --mount HOST:GUEST:rw,max-size=SIZE: what a VM adds to a mount's disk
 * usage, counted as the host counts it (st_blocks * 512) before and after
 * each change, plus a fixed cost for every name it makes, so that a guest
 * can fill neither the host's disk nor its inodes through the mount.  The
 * rule, as docs/security.md states it:
 *
 *  - a name made (a file, directory, symlink or hard link) costs
 *    HOSTFS_NAME_COST, for its inode and directory entry, and is refused
 *    with -ENOSPC when less is left; its directory's growth and a new
 *    directory's or symlink's own blocks are counted after;
 *  - a write is shortened to what surely fits (whole 4 KiB blocks it might
 *    allocate), -ENOSPC if nothing does; then the file's growth is counted;
 *  - a truncation that grows the file past the cap is undone, -ENOSPC;
 *  - removing a name gives back HOSTFS_NAME_COST and, when its file goes
 *    with it (its last link, not open in the VM), the file's blocks; a file
 *    the VM still holds open gives its blocks back at its last close.
 *
 * Every function here is for mounts with a cap; the others are not
 * counted at all.
 */
#ifndef LISPVM_VMM_HOSTFS_QUOTA_H
#define LISPVM_VMM_HOSTFS_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hostfs.h"

#define HOSTFS_NAME_COST   4096
#define HOSTFS_QUOTA_BLOCK 4096 /* what one written byte may allocate at least */

static inline bool hostfs_quota_capped(const struct hostfs_mount *m)
{
	return m->max_size != 0;
}

/* What the VM may still add (0 once at or past the cap). */
uint64_t hostfs_quota_room(const struct hostfs_mount *m);

/* Counts bytes more (or fewer, below 0) as added by the VM. */
void hostfs_quota_add(struct hostfs_mount *m, int64_t bytes);

/* A file's or directory's disk usage as the host reports it. */
int64_t hostfs_quota_bytes(const struct stat *st);

/* How many of len bytes written at off into the file st describes surely
 * fit in the room left (len, or fewer; 0 if none). */
uint64_t hostfs_quota_write_fits(const struct hostfs_mount *m, const struct stat *st, uint64_t off,
				 uint64_t len);

/* What removing the name of st (lstat'ed) frees, except the directory
 * entry: a directory's or symlink's blocks, and a file's when it is its
 * last link and no handle in fs holds it open. */
int64_t hostfs_quota_freed(const struct hostfs *fs, const struct stat *st);

/* true if a handle other than `except` holds the file st open. */
bool hostfs_quota_held_open(const struct hostfs *fs, const struct stat *st, int except);

#endif
