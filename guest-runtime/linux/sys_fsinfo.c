/* SPDX-License-Identifier: MIT */
/* What programs ask about filesystems rather than files: statfs, extended
 * attributes (none here), and fadvise (advice only). */
#include <asm/statfs.h>
#include <errno.h>
#include <linux/fadvise.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "linux/fd.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define PIPEFS_MAGIC 0x50495045
#define ST_RDONLY    1

/* Sizes are the guest's RAM for every filesystem: tmpfs lives in it and
 * nothing here can grow beyond it. */
static void fill_statfs(unsigned long magic, bool readonly, unsigned int fs_id, struct statfs *out)
{
	memset(out, 0, sizeof(*out));
	out->f_type = (long)magic;
	out->f_bsize = PAGE_SIZE;
	out->f_frsize = PAGE_SIZE;
	out->f_blocks = (long)pmem_usable_count();
	out->f_bfree = (long)pmem_free_count();
	out->f_bavail = (long)pmem_free_count();
	out->f_files = (long)pmem_usable_count();
	out->f_ffree = (long)pmem_free_count();
	out->f_fsid.val[0] = (int)fs_id;
	out->f_namelen = NAME_MAX;
	out->f_flags = readonly ? ST_RDONLY : 0;
}

static int statfs_path(int dirfd, const char *path, struct statfs *out)
{
	struct vnode node;
	int rc = vfs_resolve(dirfd, path, true, &node, NULL);

	if (rc == 0)
		fill_statfs(node.ops->magic, node.ops->readonly, node.fs_id, out);
	return rc;
}

SYSCALL_DEFINE(statfs)
{
	struct statfs st;
	char *path;
	int rc = user_path_get(a0, &path);

	if (rc == 0)
		rc = statfs_path(AT_FDCWD, path, &st);
	kfree(path);
	return rc < 0 ? rc : copy_to_user(a1, &st, sizeof(st));
}

SYSCALL_DEFINE(fstatfs)
{
	struct file *f = fd_get((int)a0);
	struct statfs st;
	int rc = 0;

	if (f == NULL)
		return -EBADF;
	/* Pipes and the console have no path in the namespace. */
	if (f->path[0] == '/')
		rc = statfs_path(AT_FDCWD, f->path, &st);
	else
		fill_statfs(PIPEFS_MAGIC, false, 0, &st);
	file_put(f);
	return rc < 0 ? rc : copy_to_user(a1, &st, sizeof(st));
}

/* No filesystem here keeps extended attributes: a file that exists has
 * none (ENODATA, as ext4 says for a missing one) and an empty list. */
static int64_t xattr_path(uint64_t upath, bool follow, int64_t found)
{
	struct stat st;
	char *path;
	int rc = user_path_get(upath, &path);

	if (rc == 0)
		rc = vfs_stat(AT_FDCWD, path, follow, &st);
	kfree(path);
	return rc < 0 ? rc : found;
}

static int64_t xattr_fd(uint64_t fd, int64_t found)
{
	struct file *f = fd_get((int)fd);

	if (f == NULL)
		return -EBADF;
	file_put(f);
	return found;
}

SYSCALL_DEFINE(getxattr)
{
	return xattr_path(a0, true, -ENODATA);
}

SYSCALL_DEFINE(lgetxattr)
{
	return xattr_path(a0, false, -ENODATA);
}

SYSCALL_DEFINE(fgetxattr)
{
	return xattr_fd(a0, -ENODATA);
}

SYSCALL_DEFINE(listxattr)
{
	return xattr_path(a0, true, 0);
}

SYSCALL_DEFINE(llistxattr)
{
	return xattr_path(a0, false, 0);
}

SYSCALL_DEFINE(flistxattr)
{
	return xattr_fd(a0, 0);
}

SYSCALL_DEFINE(setxattr)
{
	return xattr_path(a0, true, -EOPNOTSUPP);
}

SYSCALL_DEFINE(lsetxattr)
{
	return xattr_path(a0, false, -EOPNOTSUPP);
}

SYSCALL_DEFINE(fsetxattr)
{
	return xattr_fd(a0, -EOPNOTSUPP);
}

SYSCALL_DEFINE(fadvise64)
{
	struct file *f = fd_get((int)a0);
	int64_t rc = 0;

	if (f == NULL)
		return -EBADF;
	if (f->stream)
		rc = -ESPIPE;
	else if (a3 > POSIX_FADV_NOREUSE)
		rc = -EINVAL;
	file_put(f);
	return rc;
}
