/* SPDX-License-Identifier: MIT */
/* Changes to the file namespace and to file sizes: mkdir, unlink, rmdir,
 * rename, symlink, truncate, fsync, and the metadata calls that a single
 * root-owned guest accepts (chmod, chown, utimes). */
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/time_types.h>

#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "linux/fd.h"
#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* Calls fn on a path argument copied in; frees it after. */
#define WITH_PATH(user, path, expr)                                                                \
	({                                                                                         \
		char *path;                                                                        \
		int rc_ = user_path_get(user, &path);                                              \
		if (rc_ == 0)                                                                      \
			rc_ = (expr);                                                              \
		kfree(path);                                                                       \
		rc_;                                                                               \
	})

SYSCALL_DEFINE(mkdirat)
{
	uint32_t mode = (uint32_t)a2 & ~current_process()->umask & 07777;

	return WITH_PATH(a1, path, vfs_mkdir((int)a0, path, mode));
}

SYSCALL_DEFINE(mkdir)
{
	return sys_mkdirat(AT_FDCWD, a0, a1, 0, 0, 0);
}

SYSCALL_DEFINE(unlinkat)
{
	if (a2 & ~(uint64_t)AT_REMOVEDIR)
		return -EINVAL;
	if (a2 & AT_REMOVEDIR)
		return WITH_PATH(a1, path, vfs_rmdir((int)a0, path));
	return WITH_PATH(a1, path, vfs_unlink((int)a0, path));
}

SYSCALL_DEFINE(unlink)
{
	return sys_unlinkat(AT_FDCWD, a0, 0, 0, 0, 0);
}

SYSCALL_DEFINE(rmdir)
{
	return sys_unlinkat(AT_FDCWD, a0, AT_REMOVEDIR, 0, 0, 0);
}

static int64_t do_rename(int from_dirfd, uint64_t from, int to_dirfd, uint64_t to,
			 unsigned int flags)
{
	char *to_path;
	int rc = user_path_get(to, &to_path);

	if (rc < 0)
		return rc;
	rc = WITH_PATH(from, from_path,
		       vfs_rename(from_dirfd, from_path, to_dirfd, to_path, flags));
	kfree(to_path);
	return rc;
}

SYSCALL_DEFINE(renameat2)
{
	return do_rename((int)a0, a1, (int)a2, a3, (unsigned int)a4);
}

SYSCALL_DEFINE(renameat)
{
	return do_rename((int)a0, a1, (int)a2, a3, 0);
}

SYSCALL_DEFINE(rename)
{
	return do_rename(AT_FDCWD, a0, AT_FDCWD, a1, 0);
}

SYSCALL_DEFINE(symlinkat)
{
	char *target;
	int rc = user_path_get(a0, &target);

	if (rc < 0)
		return rc;
	rc = WITH_PATH(a2, path, vfs_symlink(target, (int)a1, path));
	kfree(target);
	return rc;
}

SYSCALL_DEFINE(symlink)
{
	return sys_symlinkat(a0, AT_FDCWD, a1, 0, 0, 0);
}

static int64_t do_link(int from_dirfd, uint64_t from, int to_dirfd, uint64_t to, bool follow)
{
	char *to_path;
	int rc = user_path_get(to, &to_path);

	if (rc < 0)
		return rc;
	rc = WITH_PATH(from, from_path, vfs_link(from_dirfd, from_path, to_dirfd, to_path, follow));
	kfree(to_path);
	return rc;
}

SYSCALL_DEFINE(linkat)
{
	if (a4 & ~(uint64_t)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	return do_link((int)a0, a1, (int)a2, a3, a4 & AT_SYMLINK_FOLLOW);
}

SYSCALL_DEFINE(link)
{
	return do_link(AT_FDCWD, a0, AT_FDCWD, a1, false);
}

static int64_t truncate_file(struct file *f, uint64_t size)
{
	if ((int64_t)size < 0)
		return -EINVAL;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	return f->ops->truncate ? f->ops->truncate(f, size) : -EINVAL;
}

SYSCALL_DEFINE(ftruncate)
{
	struct file *f = fd_get((int)a0);
	int64_t rc;

	if (f == NULL)
		return -EBADF;
	rc = truncate_file(f, a1);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(truncate)
{
	struct file *f;
	int rc = WITH_PATH(a0, path, vfs_open(AT_FDCWD, path, O_WRONLY, 0, &f));

	if (rc < 0)
		return rc;
	rc = (int)truncate_file(f, a1);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(fsync)
{
	struct file *f = fd_get((int)a0);
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = f->ops->fsync ? f->ops->fsync(f) : 0;
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(fdatasync)
{
	return sys_fsync(a0, 0, 0, 0, 0, 0);
}

/* One root user: ownership changes are accepted where the file exists
 * and, with no other user to protect from, not recorded. */
static int64_t exists(int dirfd, uint64_t upath, bool follow)
{
	struct stat st;

	return WITH_PATH(upath, path, vfs_stat(dirfd, path, follow, &st));
}

SYSCALL_DEFINE(fchmodat)
{
	return WITH_PATH(a1, path, vfs_chmod((int)a0, path, (uint32_t)a2, true));
}

SYSCALL_DEFINE(chmod)
{
	return sys_fchmodat(AT_FDCWD, a0, a1, 0, 0, 0);
}

SYSCALL_DEFINE(chown)
{
	return exists(AT_FDCWD, a0, true);
}

SYSCALL_DEFINE(lchown)
{
	return exists(AT_FDCWD, a0, false);
}

SYSCALL_DEFINE(fchownat)
{
	return exists((int)a0, a1, !(a4 & AT_SYMLINK_NOFOLLOW));
}

static int64_t fd_exists(uint64_t fd)
{
	struct file *f = fd_get((int)fd);

	if (f == NULL)
		return -EBADF;
	file_put(f);
	return 0;
}

SYSCALL_DEFINE(fchmod)
{
	struct file *f = fd_get((int)a0);
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = vfs_chmod(AT_FDCWD, f->path, (uint32_t)a1, true);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(fchown)
{
	return fd_exists(a0);
}

/* Linux's UTIME_NOW and UTIME_OMIT (tv_nsec values). */
#define UTIME_NOW  ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

static int time_arg(const struct __kernel_timespec *ts, uint64_t now, uint64_t *out)
{
	if (ts->tv_nsec == UTIME_OMIT) {
		*out = VFS_TIME_OMIT;
		return 0;
	}
	if (ts->tv_nsec == UTIME_NOW) {
		*out = now;
		return 0;
	}
	if (ts->tv_nsec < 0 || ts->tv_nsec >= (long long)NSEC_PER_SEC || ts->tv_sec < 0)
		return -EINVAL;
	/* Times are kept in 64-bit nanoseconds: clamp at year 2554 rather
	 * than wrap (or become VFS_TIME_OMIT). */
	if ((uint64_t)ts->tv_sec >= (VFS_TIME_OMIT - NSEC_PER_SEC) / NSEC_PER_SEC)
		*out = (VFS_TIME_OMIT - NSEC_PER_SEC) / NSEC_PER_SEC * NSEC_PER_SEC;
	else
		*out = (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
	return 0;
}

/* utimensat(dirfd, path, times[2], flags); a null path is futimens on
 * dirfd.  No times means both now. */
SYSCALL_DEFINE(utimensat)
{
	struct __kernel_timespec ts[2];
	uint64_t now = clock_realtime_ns(), atime = now, mtime = now;
	struct file *f;
	int rc;

	if (a3 & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (a2) {
		if (copy_from_user(ts, a2, sizeof(ts)) < 0)
			return -EFAULT;
		if ((rc = time_arg(&ts[0], now, &atime)) < 0 ||
		    (rc = time_arg(&ts[1], now, &mtime)) < 0)
			return rc;
	}
	if (a1) {
		char *path;

		if ((rc = user_path_get(a1, &path)) < 0)
			return rc;
		if (path[0] != '\0' || !(a3 & AT_EMPTY_PATH)) {
			rc = vfs_set_times((int)a0, path, !(a3 & AT_SYMLINK_NOFOLLOW), atime,
					   mtime);
			kfree(path);
			return rc;
		}
		kfree(path); /* "" with AT_EMPTY_PATH: the descriptor itself */
	}
	f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	/* Pipes and the console have no times to keep. */
	rc = f->path[0] == '/' ? vfs_set_times(AT_FDCWD, f->path, true, atime, mtime) : 0;
	file_put(f);
	return rc;
}
