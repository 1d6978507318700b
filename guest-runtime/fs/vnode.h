/* SPDX-License-Identifier: MIT */
/*
 * A name resolved in the guest's namespace, whatever filesystem holds it:
 * the read-only images, a tmpfs, /dev, /proc or a host directory.  The
 * VFS walks paths with these and calls the filesystem's operations; each
 * filesystem keeps in the union what it needs to find the object again.
 *
 * Every operation also gets `path`, the object's canonical absolute path
 * (symlink-free): host directories name files by path, and open files
 * remember it for /proc and fchdir.
 */
#ifndef GUEST_FS_VNODE_H
#define GUEST_FS_VNODE_H

#include <asm/stat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/imagefs_node.h"

struct file;
struct vnode;

struct vnode_ops {
	/* statfs(2)'s f_type, and whether changes are refused (ST_RDONLY). */
	unsigned long magic;
	bool readonly;
	/* name[0..len) in directory dir: 0 and *out, or -ENOENT... */
	int (*lookup)(const struct vnode *dir, const char *path, const char *name, size_t len,
		      struct vnode *out);
	/* Optional, for /proc's magic links: the object a followed link
	 * names, when no path leads there (a pipe, the console, an unlinked
	 * file); -ENOENT: follow the link's text as usual. */
	int (*follow_magic)(const struct vnode *link, struct vnode *out);
	/* The symlink's target, NUL-terminated; its length or -errno. */
	int64_t (*readlink)(const struct vnode *n, const char *path, char *buf, uint64_t size);
	int (*stat)(const struct vnode *n, const char *path, struct stat *st);
	/* An open file (flags O_*, already checked against the type). */
	int (*open)(const struct vnode *n, const char *path, uint32_t flags, struct file **out);

	/* Changes; NULL where the filesystem is read-only (-EROFS).  dir is
	 * the parent, path the parent's path, name the last component. */
	int (*create)(const struct vnode *dir, const char *path, const char *name, size_t len,
		      uint32_t mode, struct vnode *out);
	/* Optional: creates and opens in one step (where a second open could
	 * be refused, as for a 0444 file on a host directory); path is the
	 * new file's. */
	int (*create_open)(const struct vnode *dir, const char *path, uint32_t mode, uint32_t flags,
			   struct file **out);
	int (*mkdir)(const struct vnode *dir, const char *path, const char *name, size_t len,
		     uint32_t mode);
	int (*unlink)(const struct vnode *dir, const char *path, const char *name, size_t len);
	int (*rmdir)(const struct vnode *dir, const char *path, const char *name, size_t len);
	/* Both directories are in this same filesystem instance. */
	int (*rename)(const struct vnode *from_dir, const char *from_path, const char *from_name,
		      size_t from_len, const struct vnode *to_dir, const char *to_path,
		      const char *to_name, size_t to_len);
	int (*symlink)(const struct vnode *dir, const char *path, const char *name, size_t len,
		       const char *target);
	/* A second name for the file `from`, whose path is from_path (same
	 * filesystem instance). */
	int (*link)(const struct vnode *from, const char *from_path, const struct vnode *dir,
		    const char *path, const char *name, size_t len);
	/* Permission bits; NULL: accepted without effect where writable. */
	int (*chmod)(const struct vnode *n, const char *path, uint32_t mode);
	/* Access and modification times in ns since the epoch, VFS_TIME_OMIT
	 * to keep one; NULL: accepted without effect where writable. */
	int (*set_times)(const struct vnode *n, const char *path, uint64_t atime, uint64_t mtime);
};

struct tmpfs_inode;

#define VFS_TIME_OMIT UINT64_MAX

struct vnode {
	const struct vnode_ops *ops;
	uint32_t mode;	    /* S_IF* and permission bits */
	unsigned int fs_id; /* the filesystem instance: renames across are EXDEV */
	union {
		struct imagefs_node image;
		struct tmpfs_inode *tmp;
		unsigned int host_mount; /* index of the --mount */
		unsigned int dev;	 /* which /dev entry */
		struct {
			unsigned int kind, arg; /* which /proc entry; its fd or pid */
		} proc;
	};
};

#endif
