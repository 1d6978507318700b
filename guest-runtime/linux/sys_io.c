/* SPDX-License-Identifier: MIT */
/* read and write in all their forms (plain, positional, vectored), and
 * lseek: one transfer engine serves every one of them. */
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/uio.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/file.h"
#include "kernel/kheap.h"
#include "linux/fd.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* Linux caps a single transfer at 2 GiB - 4 KiB. */
#define MAX_RW_COUNT 0x7ffff000ull
/* No position given: use and advance the file's own. */
#define AT_FILE_POS (-1)

/* The file's size now: another descriptor may have changed it. */
static uint64_t file_end(struct file *f)
{
	struct stat st;

	if (f->ops->stat && f->ops->stat(f, &st) == 0)
		return (uint64_t)st.st_size;
	return f->size;
}

static int check_access(const struct file *f, bool write)
{
	if (write)
		return (f->flags & O_ACCMODE) == O_RDONLY || f->ops->write == NULL ? -EBADF : 0;
	return (f->flags & O_ACCMODE) == O_WRONLY || f->ops->read == NULL ? -EBADF : 0;
}

/* One buffer at *pos; advances *pos.  O_APPEND writes go to the end
 * whatever the position, pwrite included (as Linux does). */
static int64_t transfer(struct file *f, bool write, uint64_t buf, uint64_t len, uint64_t *pos)
{
	int64_t n;

	if (!user_range_ok(buf, len))
		return -EFAULT;
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (write && (f->flags & O_APPEND) && !f->stream)
		*pos = file_end(f);
	n = write ? f->ops->write(f, (const void *)buf, len, *pos)
		  : f->ops->read(f, (void *)buf, len, *pos);
	if (n > 0 && !f->stream)
		*pos += (uint64_t)n;
	return n;
}

static int64_t transfer_vector(struct file *f, bool write, uint64_t uiov, uint64_t count,
			       uint64_t *pos)
{
	int64_t total = 0;

	if (count > UIO_MAXIOV)
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		struct iovec iov;
		int64_t n;

		if (copy_from_user(&iov, uiov + i * sizeof(iov), sizeof(iov)) < 0)
			return total ? total : -EFAULT;
		if ((int64_t)iov.iov_len < 0)
			return total ? total : -EINVAL;
		n = transfer(f, write, (uint64_t)iov.iov_base, iov.iov_len, pos);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((uint64_t)n < iov.iov_len)
			break;
	}
	return total;
}

/* buf/len, or with `vector` an iovec array and its count; at offset, or
 * at the file's position for AT_FILE_POS. */
static int64_t do_rw(int fd, bool write, uint64_t buf, uint64_t len, bool vector, int64_t offset)
{
	struct file *f = fd_get(fd);
	uint64_t pos;
	int64_t n;

	if (f == NULL)
		return -EBADF;
	n = check_access(f, write);
	if (n == 0 && offset != AT_FILE_POS && f->stream)
		n = -ESPIPE;
	if (n == 0) {
		pos = offset == AT_FILE_POS ? f->pos : (uint64_t)offset;
		n = vector ? transfer_vector(f, write, buf, len, &pos)
			   : transfer(f, write, buf, len, &pos);
		if (offset == AT_FILE_POS && !f->stream)
			f->pos = pos;
	}
	file_put(f);
	return n;
}

SYSCALL_DEFINE(read)
{
	return do_rw((int)a0, false, a1, a2, false, AT_FILE_POS);
}

SYSCALL_DEFINE(write)
{
	return do_rw((int)a0, true, a1, a2, false, AT_FILE_POS);
}

SYSCALL_DEFINE(readv)
{
	return do_rw((int)a0, false, a1, a2, true, AT_FILE_POS);
}

SYSCALL_DEFINE(writev)
{
	return do_rw((int)a0, true, a1, a2, true, AT_FILE_POS);
}

SYSCALL_DEFINE(pread64)
{
	return (int64_t)a3 < 0 ? -EINVAL : do_rw((int)a0, false, a1, a2, false, (int64_t)a3);
}

SYSCALL_DEFINE(pwrite64)
{
	return (int64_t)a3 < 0 ? -EINVAL : do_rw((int)a0, true, a1, a2, false, (int64_t)a3);
}

/* On x86-64 the whole offset is in the "low" argument. */
SYSCALL_DEFINE(preadv)
{
	return (int64_t)a3 < 0 ? -EINVAL : do_rw((int)a0, false, a1, a2, true, (int64_t)a3);
}

SYSCALL_DEFINE(pwritev)
{
	return (int64_t)a3 < 0 ? -EINVAL : do_rw((int)a0, true, a1, a2, true, (int64_t)a3);
}

/* preadv2/pwritev2: offset -1 means the file position; no RWF_* flag
 * changes anything for in-memory files, but unknown ones are refused. */
#define RWF_KNOWN 0x1f

static int64_t rw2(bool write, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a5)
{
	if (a5 & ~(uint64_t)RWF_KNOWN)
		return -EOPNOTSUPP;
	if ((int64_t)a3 < -1)
		return -EINVAL;
	return do_rw((int)a0, write, a1, a2, true, (int64_t)a3);
}

SYSCALL_DEFINE(preadv2)
{
	return rw2(false, a0, a1, a2, a3, a5);
}

SYSCALL_DEFINE(pwritev2)
{
	return rw2(true, a0, a1, a2, a3, a5);
}

static int64_t seek_base(struct file *f, uint64_t whence, int64_t off, int64_t *base)
{
	uint64_t end;

	switch (whence) {
	case SEEK_SET:
		*base = 0;
		return 0;
	case SEEK_CUR:
		*base = (int64_t)f->pos;
		return 0;
	case SEEK_END:
		*base = (int64_t)file_end(f);
		return 0;
	case SEEK_DATA:
	case SEEK_HOLE:
		/* No holes are reported: data everywhere up to the end. */
		end = file_end(f);
		if (off < 0 || (uint64_t)off >= end)
			return -ENXIO;
		*base = whence == SEEK_DATA ? 0 : (int64_t)end - off;
		return 0;
	default:
		return -EINVAL;
	}
}

SYSCALL_DEFINE(lseek)
{
	struct file *f = fd_get((int)a0);
	int64_t off = (int64_t)a1, base = 0, rc;

	if (f == NULL)
		return -EBADF;
	rc = f->stream ? -ESPIPE : seek_base(f, a2, off, &base);
	if (rc == 0 && ((off < 0 && base + off < 0) || (off > 0 && base > INT64_MAX - off)))
		rc = -EINVAL;
	if (rc == 0) {
		f->pos = (uint64_t)(base + off);
		rc = base + off;
	}
	file_put(f);
	return rc;
}

/* ---- in-kernel copies: sendfile, copy_file_range ---- */

#define COPY_CHUNK (64 * 1024)

/* Moves up to count bytes from in at *in_pos to out at *out_pos (the
 * positions advance; streams ignore them) through a kernel buffer. */
static int64_t copy_between(struct file *in, uint64_t *in_pos, struct file *out, uint64_t *out_pos,
			    uint64_t count)
{
	uint64_t chunk = count < COPY_CHUNK ? count : COPY_CHUNK, done = 0;
	uint8_t *buf;

	if (count == 0)
		return 0;
	buf = kmalloc(chunk);
	if (buf == NULL)
		return -ENOMEM;
	while (done < count) {
		uint64_t want = count - done < chunk ? count - done : chunk;
		int64_t got = in->ops->read(in, buf, want, *in_pos), put;

		if (got <= 0) {
			kfree(buf);
			return done ? (int64_t)done : got;
		}
		if ((out->flags & O_APPEND) && !out->stream)
			*out_pos = file_end(out);
		put = out->ops->write(out, buf, (uint64_t)got, *out_pos);
		if (put <= 0) {
			kfree(buf);
			return done ? (int64_t)done : put;
		}
		if (!in->stream)
			*in_pos += (uint64_t)put; /* what was written is what was consumed */
		if (!out->stream)
			*out_pos += (uint64_t)put;
		done += (uint64_t)put;
		if (put < got || (uint64_t)got < want)
			break;
	}
	kfree(buf);
	return (int64_t)done;
}

/* The common checks of both calls; the caller puts the files. */
static int64_t open_pair(int in_fd, int out_fd, struct file **in, struct file **out)
{
	*in = fd_get(in_fd);
	*out = fd_get(out_fd);
	if (*in == NULL || *out == NULL)
		return -EBADF;
	if (check_access(*in, false) < 0 || check_access(*out, true) < 0)
		return -EBADF;
	return 0;
}

/* sendfile(out, in, offset*, count): with offset, in's position stays. */
SYSCALL_DEFINE(sendfile)
{
	struct file *in, *out;
	uint64_t in_pos = 0, *in_at;
	int64_t rc = open_pair((int)a1, (int)a0, &in, &out);

	if (rc == 0 && a2 && copy_from_user(&in_pos, a2, sizeof(in_pos)) < 0)
		rc = -EFAULT;
	if (rc == 0 && (int64_t)in_pos < 0)
		rc = -EINVAL;
	if (rc == 0 && (out->flags & O_APPEND))
		rc = -EINVAL;
	/* A stream cannot give back what a short write left over. */
	if (rc == 0 && in->stream)
		rc = -EINVAL;
	if (rc == 0) {
		in_at = a2 ? &in_pos : &in->pos;
		rc = copy_between(in, in_at, out, &out->pos, a3 > MAX_RW_COUNT ? MAX_RW_COUNT : a3);
		if (rc >= 0 && a2 && copy_to_user(a2, &in_pos, sizeof(in_pos)) < 0)
			rc = -EFAULT;
	}
	file_put(in);
	file_put(out);
	return rc;
}

/* The same file with ranges that overlap: Linux refuses the copy. */
static bool overlapping(struct file *in, uint64_t in_pos, struct file *out, uint64_t out_pos,
			uint64_t len)
{
	struct stat a, b;

	if (!in->ops->stat || !out->ops->stat || in->ops->stat(in, &a) < 0 ||
	    out->ops->stat(out, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return false;
	return in_pos < out_pos + len && out_pos < in_pos + len;
}

/* copy_file_range(in, off_in*, out, off_out*, len, flags): regular files;
 * a null offset uses and advances the file's position. */
SYSCALL_DEFINE(copy_file_range)
{
	struct file *in, *out;
	uint64_t in_pos = 0, out_pos = 0;
	int64_t rc = open_pair((int)a0, (int)a2, &in, &out);

	if (rc == 0 && a5 != 0)
		rc = -EINVAL;
	if (rc == 0 && (in->stream || out->stream))
		rc = -EINVAL;
	if (rc == 0 && (out->flags & O_APPEND))
		rc = -EBADF;
	if (rc == 0 && ((a1 && copy_from_user(&in_pos, a1, 8) < 0) ||
			(a3 && copy_from_user(&out_pos, a3, 8) < 0)))
		rc = -EFAULT;
	if (rc == 0 && overlapping(in, a1 ? in_pos : in->pos, out, a3 ? out_pos : out->pos,
				   a4 > MAX_RW_COUNT ? MAX_RW_COUNT : a4))
		rc = -EINVAL;
	if (rc == 0) {
		uint64_t *ip = a1 ? &in_pos : &in->pos, *op = a3 ? &out_pos : &out->pos;

		rc = copy_between(in, ip, out, op, a4 > MAX_RW_COUNT ? MAX_RW_COUNT : a4);
		if (rc >= 0 && ((a1 && copy_to_user(a1, &in_pos, 8) < 0) ||
				(a3 && copy_to_user(a3, &out_pos, 8) < 0)))
			rc = -EFAULT;
	}
	file_put(in);
	file_put(out);
	return rc;
}
