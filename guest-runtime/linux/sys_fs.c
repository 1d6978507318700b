/* SPDX-License-Identifier: MIT */
/* Paths and descriptors: open, stat, directories, links, fcntl, dup. */
#include <asm/ioctls.h>
#include <errno.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/kheap.h"
#include "linux/fd.h"
#include "linux/pipe.h"
#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define OPEN_FLAGS_KNOWN                                                                           \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
	 O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | __O_SYNC |    \
	 O_PATH | __O_TMPFILE | FASYNC)

static int64_t do_openat(int dirfd, uint64_t upath, uint32_t flags, uint32_t mode)
{
	struct file *f;
	char *path;
	int rc;

	if (flags & ~(uint32_t)OPEN_FLAGS_KNOWN)
		return -EINVAL;
	rc = user_path_get(upath, &path);
	if (rc < 0)
		return rc;
	rc = vfs_open(dirfd, path, flags, mode & ~current_process()->umask, &f);
	kfree(path);
	if (rc < 0)
		return rc;
	rc = fd_install(f, 0, flags & O_CLOEXEC);
	if (rc < 0)
		file_put(f);
	return rc;
}

SYSCALL_DEFINE(open)
{
	return do_openat(AT_FDCWD, a0, (uint32_t)a1, (uint32_t)a2);
}

SYSCALL_DEFINE(openat)
{
	return do_openat((int)a0, a1, (uint32_t)a2, (uint32_t)a3);
}

SYSCALL_DEFINE(close)
{
	return fd_close((int)a0);
}

SYSCALL_DEFINE(close_range)
{
	uint64_t last = a1 < FD_TABLE_SIZE - 1 ? a1 : FD_TABLE_SIZE - 1;

	if (a0 > a1 || (a2 & ~(uint64_t)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		return -EINVAL;
	for (uint64_t fd = a0; fd <= last; fd++) {
		if (a2 & CLOSE_RANGE_CLOEXEC)
			fd_set_cloexec((int)fd, true);
		else
			fd_close((int)fd);
	}
	return 0;
}

/* ---- stat ---- */

static int stat_path(int dirfd, uint64_t upath, uint32_t flags, struct stat *st)
{
	struct file *f;
	char *path;
	int rc;

	if (flags & ~(uint32_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	rc = user_path_get(upath, &path);
	if (rc < 0)
		return rc;
	if (path[0] == '\0' && (flags & AT_EMPTY_PATH) && dirfd == AT_FDCWD) {
		path[0] = '.';
		path[1] = '\0';
	}
	if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		kfree(path);
		f = fd_get(dirfd);
		if (f == NULL)
			return -EBADF;
		rc = f->ops->stat ? f->ops->stat(f, st) : -EINVAL;
		file_put(f);
		return rc;
	}
	rc = vfs_stat(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), st);
	kfree(path);
	return rc;
}

SYSCALL_DEFINE(newfstatat)
{
	struct stat st;
	int rc = stat_path((int)a0, a1, (uint32_t)a3, &st);

	return rc < 0 ? rc : copy_to_user(a2, &st, sizeof(st));
}

SYSCALL_DEFINE(stat)
{
	return sys_newfstatat(AT_FDCWD, a0, a1, 0, 0, 0);
}

SYSCALL_DEFINE(lstat)
{
	return sys_newfstatat(AT_FDCWD, a0, a1, AT_SYMLINK_NOFOLLOW, 0, 0);
}

SYSCALL_DEFINE(fstat)
{
	struct file *f = fd_get((int)a0);
	struct stat st;
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = f->ops->stat ? f->ops->stat(f, &st) : -EINVAL;
	file_put(f);
	return rc < 0 ? rc : copy_to_user(a1, &st, sizeof(st));
}

static void to_statx(const struct stat *st, struct statx *sx)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st->st_blksize;
	sx->stx_nlink = (uint32_t)st->st_nlink;
	sx->stx_uid = st->st_uid;
	sx->stx_gid = st->st_gid;
	sx->stx_mode = (uint16_t)st->st_mode;
	sx->stx_ino = st->st_ino;
	sx->stx_size = (uint64_t)st->st_size;
	sx->stx_blocks = (uint64_t)st->st_blocks;
	sx->stx_atime.tv_sec = st->st_atime;
	sx->stx_atime.tv_nsec = (uint32_t)st->st_atime_nsec;
	sx->stx_mtime.tv_sec = st->st_mtime;
	sx->stx_mtime.tv_nsec = (uint32_t)st->st_mtime_nsec;
	sx->stx_ctime.tv_sec = st->st_ctime;
	sx->stx_ctime.tv_nsec = (uint32_t)st->st_ctime_nsec;
	sx->stx_rdev_major = (uint32_t)(st->st_rdev >> 8);
	sx->stx_rdev_minor = (uint32_t)(st->st_rdev & 0xff);
	sx->stx_dev_major = (uint32_t)(st->st_dev >> 8);
	sx->stx_dev_minor = (uint32_t)(st->st_dev & 0xff);
}

SYSCALL_DEFINE(statx)
{
	struct stat st;
	struct statx sx;
	int rc = stat_path((int)a0, a1, (uint32_t)a2 & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &st);

	if (rc < 0)
		return rc;
	to_statx(&st, &sx);
	return copy_to_user(a4, &sx, sizeof(sx));
}

/* ---- access, readlink, cwd ---- */

/* The node an open descriptor (or the cwd) names, for AT_EMPTY_PATH. */
static int fd_node(int dirfd, struct vnode *node)
{
	struct file *f;
	int rc;

	if (dirfd == AT_FDCWD)
		return vfs_resolve(AT_FDCWD, ".", true, node, NULL);
	f = fd_get(dirfd);
	if (f == NULL)
		return -EBADF;
	rc = vfs_resolve(AT_FDCWD, f->path, true, node, NULL);
	file_put(f);
	return rc;
}

static int64_t do_faccessat(int dirfd, uint64_t upath, uint32_t mode, uint32_t flags)
{
	struct vnode node;
	char *path;
	int rc;

	if (mode & ~(uint32_t)7 ||
	    flags & ~(uint32_t)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	rc = user_path_get(upath, &path);
	if (rc < 0)
		return rc;
	if (path[0] == '\0' && (flags & AT_EMPTY_PATH))
		rc = fd_node(dirfd, &node);
	else
		rc = vfs_resolve(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &node, NULL);
	kfree(path);
	if (rc < 0)
		return rc;
	/* Root may do anything, but read-only places refuse writing and
	 * execute needs some x bit, as for root on Linux. */
	if ((mode & 2) && !S_ISDIR(node.mode) && node.ops->create == NULL && !S_ISCHR(node.mode))
		return -EROFS;
	if ((mode & 1) && !(node.mode & 0111) && !S_ISDIR(node.mode))
		return -EACCES;
	return 0;
}

SYSCALL_DEFINE(access)
{
	return do_faccessat(AT_FDCWD, a0, (uint32_t)a1, 0);
}

SYSCALL_DEFINE(faccessat)
{
	return do_faccessat((int)a0, a1, (uint32_t)a2, 0);
}

SYSCALL_DEFINE(faccessat2)
{
	return do_faccessat((int)a0, a1, (uint32_t)a2, (uint32_t)a3);
}

static int64_t do_readlinkat(int dirfd, uint64_t upath, uint64_t ubuf, uint64_t size)
{
	char *path, *target;
	int64_t rc;

	if ((int64_t)size <= 0)
		return -EINVAL;
	rc = user_path_get(upath, &path);
	if (rc < 0)
		return rc;
	target = kmalloc(PATH_MAX);
	rc = target ? vfs_readlink(dirfd, path, target, PATH_MAX) : -ENOMEM;
	kfree(path);
	if (rc >= 0) {
		if ((uint64_t)rc > size)
			rc = (int64_t)size;
		if (copy_to_user(ubuf, target, (uint64_t)rc) < 0)
			rc = -EFAULT;
	}
	kfree(target);
	return rc;
}

SYSCALL_DEFINE(readlink)
{
	return do_readlinkat(AT_FDCWD, a0, a1, a2);
}

SYSCALL_DEFINE(readlinkat)
{
	return do_readlinkat((int)a0, a1, a2, a3);
}

SYSCALL_DEFINE(getcwd)
{
	const char *cwd = current_process()->cwd;
	uint64_t len = strlen(cwd) + 1;

	if (len > a1)
		return -ERANGE;
	return copy_to_user(a0, cwd, len) < 0 ? -EFAULT : (int64_t)len;
}

static int change_dir(const char *canon)
{
	memcpy(current_process()->cwd, canon, strlen(canon) + 1);
	return 0;
}

SYSCALL_DEFINE(chdir)
{
	struct vnode node;
	char *path, *canon;
	int rc = user_path_get(a0, &path);

	if (rc < 0)
		return rc;
	canon = kmalloc(PATH_MAX);
	rc = canon ? vfs_resolve(AT_FDCWD, path, true, &node, canon) : -ENOMEM;
	if (rc == 0)
		rc = S_ISDIR(node.mode) ? change_dir(canon) : -ENOTDIR;
	kfree(canon);
	kfree(path);
	return rc;
}

SYSCALL_DEFINE(fchdir)
{
	struct file *f = fd_get((int)a0);
	struct stat st;
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = f->ops->stat ? f->ops->stat(f, &st) : -ENOTDIR;
	if (rc == 0)
		rc = S_ISDIR(st.st_mode) ? change_dir(f->path) : -ENOTDIR;
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(umask)
{
	uint32_t old = current_process()->umask;

	current_process()->umask = (uint32_t)a0 & 0777;
	return old;
}

/* ---- directories ---- */

SYSCALL_DEFINE(getdents64)
{
	struct file *f = fd_get((int)a0);
	int64_t n;

	if (f == NULL)
		return -EBADF;
	if (!user_range_ok(a1, a2))
		n = -EFAULT;
	else
		n = f->ops->getdents ? f->ops->getdents(f, (void *)a1, a2, &f->pos) : -ENOTDIR;
	file_put(f);
	return n;
}

/* ---- descriptors ---- */

static int64_t dup_to(int oldfd, int newfd, bool cloexec)
{
	struct file *f = fd_get(oldfd);
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = fd_install_at(f, newfd, cloexec);
	if (rc < 0)
		file_put(f);
	return rc;
}

SYSCALL_DEFINE(dup)
{
	struct file *f = fd_get((int)a0);
	int rc;

	if (f == NULL)
		return -EBADF;
	rc = fd_install(f, 0, false);
	if (rc < 0)
		file_put(f);
	return rc;
}

SYSCALL_DEFINE(dup2)
{
	struct file *f = fd_get((int)a0);

	if (f == NULL)
		return -EBADF;
	file_put(f);
	if (a0 == a1)
		return (int64_t)a1;
	return dup_to((int)a0, (int)a1, false);
}

SYSCALL_DEFINE(dup3)
{
	if (a0 == a1 || (a2 & ~(uint64_t)O_CLOEXEC))
		return -EINVAL;
	return dup_to((int)a0, (int)a1, a2 & O_CLOEXEC);
}

static bool is_pipe(struct file *f)
{
	struct stat st;

	return f->ops->stat && f->ops->stat(f, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* F_SETFL may change these; the access mode and creation flags stay. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | FASYNC)

SYSCALL_DEFINE(fcntl)
{
	struct file *f = fd_get((int)a0);
	int64_t rc;

	if (f == NULL)
		return -EBADF;
	switch (a1) {
	case F_GETFD:
		rc = fd_cloexec((int)a0) ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		rc = fd_set_cloexec((int)a0, a2 & FD_CLOEXEC);
		break;
	case F_GETFL:
		rc = f->flags & ~(uint32_t)O_CLOEXEC;
		break;
	case F_SETFL:
		f->flags = (f->flags & ~(uint32_t)SETFL_MASK) | ((uint32_t)a2 & SETFL_MASK);
		rc = 0;
		break;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		rc = is_pipe(f) ? PIPE_CAPACITY : -EBADF;
		break;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (a2 >= current_process()->rlimits[RLIMIT_NOFILE].rlim_cur) {
			rc = -EINVAL;
			break;
		}
		file_get(f);
		rc = fd_install(f, (int)a2, a1 == F_DUPFD_CLOEXEC);
		if (rc < 0)
			file_put(f);
		break;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		rc = 0; /* one process: no one to conflict with */
		break;
	default:
		rc = -EINVAL;
	}
	file_put(f);
	return rc;
}

/* FIONBIO, for every file as on Linux: O_NONBLOCK from a user int. */
static int64_t set_nonblocking(struct file *f, uint64_t uarg)
{
	int on;

	if (copy_from_user(&on, uarg, sizeof(on)) < 0)
		return -EFAULT;
	if (on)
		f->flags |= O_NONBLOCK;
	else
		f->flags &= ~(uint32_t)O_NONBLOCK;
	return 0;
}

SYSCALL_DEFINE(ioctl)
{
	struct file *f = fd_get((int)a0);
	int64_t rc;

	if (f == NULL)
		return -EBADF;
	if (a1 == FIOCLEX || a1 == FIONCLEX)
		rc = fd_set_cloexec((int)a0, a1 == FIOCLEX);
	else if (a1 == FIONBIO)
		rc = set_nonblocking(f, a2);
	else
		rc = f->ops->ioctl ? f->ops->ioctl(f, (unsigned int)a1, a2) : -ENOTTY;
	file_put(f);
	return rc;
}
