/* SPDX-License-Identifier: MIT */
/*
 * pipe(2) and pipe2(2) inside the guest: a 64 KiB ring shared by a read
 * end and a write end.  A read of an empty pipe whose writer is open, or
 * a write to a full one, waits (other threads run) unless O_NONBLOCK;
 * a signal ends the wait with EINTR.
 */
#include <asm/ioctls.h>
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/stat.h>
#include <stdio.h>
#include <string.h>

#include "fs/file.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "linux/fd.h"
#include "linux/pipe.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define PIPE_DEV 0x000c
#define PIPE_BUF 4096 /* POSIX atomic write size, as Linux */

struct pipe {
	uint8_t *buf;
	uint64_t head, tail; /* bytes written / read, ever */
	int readers, writers;
	uint64_t ino;
};

static uint64_t next_pipe_ino = 1;

/* Wakes the pipe's waiting readers and writers, and every poller. */
static void pipe_changed(struct pipe *p)
{
	sched_wake_all(p);
	sched_wake_all(&sched_poll_chan);
}

static uint64_t copy_out(struct pipe *p, uint8_t *buf, uint64_t len, int *fault)
{
	uint64_t done = 0;

	while (done < len && p->tail < p->head) {
		uint64_t at = p->tail % PIPE_CAPACITY, n = PIPE_CAPACITY - at;

		if (n > p->head - p->tail)
			n = p->head - p->tail;
		if (n > len - done)
			n = len - done;
		if (uaccess_copy(buf + done, p->buf + at, n) != 0) {
			*fault = 1;
			break;
		}
		p->tail += n;
		done += n;
	}
	return done;
}

static uint64_t copy_in(struct pipe *p, const uint8_t *buf, uint64_t len, int *fault)
{
	uint64_t done = 0;

	while (done < len && p->head - p->tail < PIPE_CAPACITY) {
		uint64_t at = p->head % PIPE_CAPACITY, n = PIPE_CAPACITY - at;

		if (n > PIPE_CAPACITY - (p->head - p->tail))
			n = PIPE_CAPACITY - (p->head - p->tail);
		if (n > len - done)
			n = len - done;
		if (uaccess_copy(p->buf + at, buf + done, n) != 0) {
			*fault = 1;
			break;
		}
		p->head += n;
		done += n;
	}
	return done;
}

static int64_t pipe_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	struct pipe *p = f->priv;
	int fault = 0;

	(void)off;
	for (;;) {
		uint64_t got;
		int64_t rc;

		if (p->head != p->tail) {
			got = copy_out(p, buf, len, &fault);
			pipe_changed(p); /* room for writers */
			return got ? (int64_t)got : (fault ? -EFAULT : 0);
		}
		if (p->writers == 0)
			return 0;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		if ((rc = sched_wait_on(p)) < 0)
			return rc == -EINTR ? -ERESTARTSYS : rc;
	}
}

static int64_t pipe_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	struct pipe *p = f->priv;
	uint64_t done = 0;
	int fault = 0;

	(void)off;
	for (;;) {
		int64_t rc;

		if (p->readers == 0)
			return done ? (int64_t)done : -EPIPE;
		/* Writes of up to PIPE_BUF bytes are atomic: all or nothing. */
		if (len > PIPE_BUF || PIPE_CAPACITY - (p->head - p->tail) >= len) {
			done += copy_in(p, (const uint8_t *)buf + done, len - done, &fault);
			pipe_changed(p); /* data for readers */
		}
		if (done == len || fault)
			return done ? (int64_t)done : -EFAULT;
		if (f->flags & O_NONBLOCK)
			return done ? (int64_t)done : -EAGAIN;
		if ((rc = sched_wait_on(p)) < 0)
			return done ? (int64_t)done : (rc == -EINTR ? -ERESTARTSYS : rc);
	}
}

static int pipe_stat(struct file *f, struct stat *st)
{
	const struct pipe *p = f->priv;

	memset(st, 0, sizeof(*st));
	st->st_dev = PIPE_DEV;
	st->st_ino = p->ino;
	st->st_mode = S_IFIFO | 0600;
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;

	if ((f->flags & O_ACCMODE) == O_RDONLY)
		p->readers--;
	else
		p->writers--;
	pipe_changed(p); /* readers see end of file, writers EPIPE */
	if (p->readers == 0 && p->writers == 0) {
		kfree(p->buf);
		kfree(p);
	}
}

static int64_t pipe_ioctl(struct file *f, unsigned int cmd, uint64_t arg)
{
	const struct pipe *p = f->priv;
	int avail = (int)(p->head - p->tail);

	if (cmd != FIONREAD)
		return -ENOTTY;
	return copy_to_user(arg, &avail, sizeof(avail));
}

static unsigned int pipe_poll(struct file *f)
{
	const struct pipe *p = f->priv;

	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return (p->head != p->tail ? POLLIN | POLLRDNORM : 0) | (p->writers ? 0 : POLLHUP);
	/* As Linux: writable while there is room, readers or not. */
	return (p->head - p->tail < PIPE_CAPACITY ? POLLOUT | POLLWRNORM : 0) |
	       (p->readers ? 0 : POLLERR);
}

static const struct file_ops pipe_ops = {
	.poll = pipe_poll,
	.read = pipe_read,
	.ioctl = pipe_ioctl,
	.write = pipe_write,
	.stat = pipe_stat,
	.release = pipe_release,
};

static struct file *pipe_end(struct pipe *p, uint32_t flags)
{
	char name[32];
	struct file *f;

	snprintf(name, sizeof(name), "pipe:[%lu]", p->ino);
	f = file_alloc(&pipe_ops, flags, name);
	if (f == NULL)
		return NULL;
	f->priv = p;
	f->stream = true;
	if ((flags & O_ACCMODE) == O_RDONLY)
		p->readers++;
	else
		p->writers++;
	return f;
}

SYSCALL_DEFINE(pipe2)
{
	uint32_t flags = (uint32_t)a1;
	struct file *r, *w;
	struct pipe *p;
	int fds[2];

	if (flags & ~(uint32_t)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	p = kzalloc(sizeof(*p));
	if (p == NULL || (p->buf = kmalloc(PIPE_CAPACITY)) == NULL) {
		kfree(p);
		return -ENOMEM;
	}
	p->ino = next_pipe_ino++;
	r = pipe_end(p, O_RDONLY | (flags & O_NONBLOCK));
	if (r == NULL) {
		kfree(p->buf);
		kfree(p);
		return -ENOMEM;
	}
	w = pipe_end(p, O_WRONLY | (flags & O_NONBLOCK));
	if (w == NULL) {
		file_put(r); /* the last end frees the pipe */
		return -ENOMEM;
	}
	fds[0] = fd_install(r, 0, flags & O_CLOEXEC);
	if (fds[0] < 0) {
		file_put(r);
		file_put(w);
		return fds[0];
	}
	fds[1] = fd_install(w, 0, flags & O_CLOEXEC);
	if (fds[1] < 0) {
		fd_close(fds[0]);
		file_put(w);
		return fds[1];
	}
	if (copy_to_user(a0, fds, sizeof(fds)) < 0) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

SYSCALL_DEFINE(pipe)
{
	return sys_pipe2(a0, 0, 0, 0, 0, 0);
}
