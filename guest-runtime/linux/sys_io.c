/* SPDX-License-Identifier: MIT */
/* read, write and their vectored and positional forms. */
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/uio.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/file.h"
#include "linux/fd.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* Linux caps a single transfer at 2 GiB - 4 KiB. */
#define MAX_RW_COUNT 0x7ffff000ull

static int64_t do_write(struct file *f, uint64_t buf, uint64_t len)
{
	int64_t n;

	if ((f->flags & O_ACCMODE) == O_RDONLY || f->ops->write == NULL)
		return -EBADF;
	if (!user_range_ok(buf, len))
		return -EFAULT;
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (!f->stream && (f->flags & O_APPEND))
		f->pos = f->size;
	n = f->ops->write(f, (const void *)buf, len, f->pos);
	if (n > 0 && !f->stream)
		f->pos += (uint64_t)n;
	return n;
}

SYSCALL_DEFINE(write)
{
	struct file *f = fd_get((int)a0);
	int64_t n;

	if (f == NULL)
		return -EBADF;
	n = do_write(f, a1, a2);
	file_put(f);
	return n;
}

SYSCALL_DEFINE(writev)
{
	struct file *f = fd_get((int)a0);
	int64_t total = 0;

	if (f == NULL)
		return -EBADF;
	if (a2 > UIO_MAXIOV) {
		file_put(f);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < a2; i++) {
		struct iovec iov;
		int64_t n;

		if (copy_from_user(&iov, a1 + i * sizeof(iov), sizeof(iov)) < 0) {
			total = total ? total : -EFAULT;
			break;
		}
		n = do_write(f, (uint64_t)iov.iov_base, iov.iov_len);
		if (n < 0) {
			total = total ? total : n;
			break;
		}
		total += n;
		if ((uint64_t)n < iov.iov_len)
			break;
	}
	file_put(f);
	return total;
}

static int64_t do_read(struct file *f, uint64_t buf, uint64_t len, uint64_t off, bool positional)
{
	int64_t n;

	if ((f->flags & O_ACCMODE) == O_WRONLY || f->ops->read == NULL)
		return -EBADF;
	if (!user_range_ok(buf, len))
		return -EFAULT;
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (positional && f->stream)
		return -ESPIPE;
	n = f->ops->read(f, (void *)buf, len, positional ? off : f->pos);
	if (n > 0 && !positional && !f->stream)
		f->pos += (uint64_t)n;
	return n;
}

SYSCALL_DEFINE(read)
{
	struct file *f = fd_get((int)a0);
	int64_t n;

	if (f == NULL)
		return -EBADF;
	n = do_read(f, a1, a2, 0, false);
	file_put(f);
	return n;
}

SYSCALL_DEFINE(pread64)
{
	struct file *f = fd_get((int)a0);
	int64_t n;

	if (f == NULL)
		return -EBADF;
	n = (int64_t)a3 < 0 ? -EINVAL : do_read(f, a1, a2, a3, true);
	file_put(f);
	return n;
}

SYSCALL_DEFINE(readv)
{
	struct file *f = fd_get((int)a0);
	int64_t total = 0;

	if (f == NULL)
		return -EBADF;
	if (a2 > UIO_MAXIOV) {
		file_put(f);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < a2; i++) {
		struct iovec iov;
		int64_t n;

		if (copy_from_user(&iov, a1 + i * sizeof(iov), sizeof(iov)) < 0) {
			total = total ? total : -EFAULT;
			break;
		}
		n = do_read(f, (uint64_t)iov.iov_base, iov.iov_len, 0, false);
		if (n < 0) {
			total = total ? total : n;
			break;
		}
		total += n;
		if ((uint64_t)n < iov.iov_len)
			break;
	}
	file_put(f);
	return total;
}

SYSCALL_DEFINE(pwrite64)
{
	struct file *f = fd_get((int)a0);
	int64_t n;

	if (f == NULL)
		return -EBADF;
	if ((int64_t)a3 < 0)
		n = -EINVAL;
	else if (f->stream)
		n = -ESPIPE;
	else if ((f->flags & O_ACCMODE) == O_RDONLY || f->ops->write == NULL)
		n = -EBADF;
	else if (!user_range_ok(a1, a2))
		n = -EFAULT;
	else
		n = f->ops->write(f, (const void *)a1, a2 > MAX_RW_COUNT ? MAX_RW_COUNT : a2, a3);
	file_put(f);
	return n;
}

SYSCALL_DEFINE(lseek)
{
	struct file *f = fd_get((int)a0);
	int64_t off = (int64_t)a1, base;

	if (f == NULL)
		return -EBADF;
	if (f->stream) {
		file_put(f);
		return -ESPIPE;
	}
	switch (a2) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)f->pos;
		break;
	case SEEK_END:
		base = (int64_t)f->size;
		break;
	default:
		file_put(f);
		return -EINVAL;
	}
	if ((off < 0 && base + off < 0) || (off > 0 && base > INT64_MAX - off)) {
		file_put(f);
		return -EINVAL;
	}
	f->pos = (uint64_t)(base + off);
	file_put(f);
	return (int64_t)(base + off);
}
