/* SPDX-License-Identifier: MIT */
#include "fs/console.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/file.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "linux/uaccess.h"

#define BOUNCE_SIZE 4096

/* The hypercall takes a guest-physical buffer: program pages are not
 * contiguous, so output is staged here. */
static struct {
	struct spinlock lock;
	char buf[BOUNCE_SIZE];
} bounce;

static int64_t console_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	(void)f;
	(void)off;
	spin_lock(&bounce.lock);
	while (done < len) {
		uint64_t n = len - done < BOUNCE_SIZE ? len - done : BOUNCE_SIZE;

		if (uaccess_copy(bounce.buf, (const char *)buf + done, n) != 0) {
			spin_unlock(&bounce.lock);
			return done ? (int64_t)done : -EFAULT;
		}
		platform_console_write(bounce.buf, n);
		done += n;
	}
	spin_unlock(&bounce.lock);
	return (int64_t)done;
}

static int64_t console_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	(void)f;
	(void)buf;
	(void)len;
	(void)off;
	return 0; /* end of file until stdin is wired to the host */
}

static int console_stat(struct file *f, struct stat *st)
{
	(void)f;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFIFO | 0600;
	st->st_nlink = 1;
	st->st_blksize = BOUNCE_SIZE;
	return 0;
}

static int64_t console_ioctl(struct file *f, unsigned int cmd, uint64_t arg)
{
	(void)f;
	(void)cmd;
	(void)arg;
	return -ENOTTY;
}

static const struct file_ops console_ops = {
	.read = console_read,
	.write = console_write,
	.stat = console_stat,
	.ioctl = console_ioctl,
};

struct file *console_open(int fd)
{
	static const char *const names[] = {"pipe:[0]", "pipe:[1]", "pipe:[2]"};
	struct file *f = file_alloc(&console_ops, fd == 0 ? O_RDONLY : O_WRONLY, names[fd]);

	if (f)
		f->stream = true;
	return f;
}
