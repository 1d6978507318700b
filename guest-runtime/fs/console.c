/* SPDX-License-Identifier: MIT */
#include "fs/console.h"

#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <asm/termios.h>
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/stat.h>
#include <string.h>

#include <lispvm/abi.h>

#include "drivers/virtio_console.h"
#include "fs/file.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "linux/uaccess.h"

#define BOUNCE_SIZE 4096
/* The major number of pseudo-terminal slaves, for st_rdev. */
#define PTS_MAJOR 136

/* Hypercalls take guest-physical buffers and program pages are not
 * contiguous, so data is staged here. */
static struct {
	struct spinlock lock;
	char buf[BOUNCE_SIZE];
	uint32_t tty_mask;
	uint16_t rows, cols;
} console;

void console_configure(uint32_t tty_mask, uint16_t rows, uint16_t cols)
{
	console.tty_mask = tty_mask;
	console.rows = rows;
	console.cols = cols;
}

static int stream_fd(const struct file *f)
{
	return (int)(uintptr_t)f->priv;
}

static bool is_tty(const struct file *f)
{
	return (console.tty_mask >> stream_fd(f)) & 1;
}

static int64_t write_chunk(int fd, uint64_t n)
{
	if (platform_kind() != PLATFORM_LISPVM) {
		platform_console_write(console.buf, n);
		return (int64_t)n;
	}
	return hypercall3(LISPVM_HC_STDIO_WRITE, (uint64_t)fd, virt_to_phys(console.buf), n);
}

static int64_t console_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	(void)off;
	spin_lock(&console.lock);
	while (done < len) {
		uint64_t n = len - done < BOUNCE_SIZE ? len - done : BOUNCE_SIZE;
		int64_t w;

		if (uaccess_copy(console.buf, (const char *)buf + done, n) != 0) {
			spin_unlock(&console.lock);
			return done ? (int64_t)done : -EFAULT;
		}
		w = write_chunk(stream_fd(f), n);
		if (w <= 0) {
			spin_unlock(&console.lock);
			return done ? (int64_t)done : (w < 0 ? w : -EIO);
		}
		done += (uint64_t)w;
	}
	spin_unlock(&console.lock);
	return (int64_t)done;
}

static int64_t console_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	int64_t n;

	(void)off;
	if (vconsole_present())
		return vconsole_read(buf, len, (f->flags & O_NONBLOCK) != 0);
	if (platform_kind() != PLATFORM_LISPVM || len == 0)
		return 0;
	if (len > BOUNCE_SIZE)
		len = BOUNCE_SIZE;
	spin_lock(&console.lock);
	n = hypercall3(LISPVM_HC_STDIO_READ, (uint64_t)stream_fd(f), virt_to_phys(console.buf),
		       len);
	if (n > 0 && uaccess_copy(buf, console.buf, (uint64_t)n) != 0)
		n = -EFAULT;
	spin_unlock(&console.lock);
	return n;
}

/* stdin is readable when the console has input (or, without the
 * device, always: the hypercall would block the vCPU); stdout and
 * stderr are always writable. */
static unsigned int console_poll(struct file *f)
{
	if (stream_fd(f) != 0)
		return POLLOUT | POLLWRNORM;
	return vconsole_present() ? vconsole_poll() : POLLIN | POLLRDNORM;
}

/* What fstat says: a terminal or a pipe (the host side may really be a
 * file, but the guest cannot seek in it). */
static int console_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	st->st_blksize = BOUNCE_SIZE;
	if (is_tty(f)) {
		st->st_mode = S_IFCHR | 0620;
		st->st_rdev = (PTS_MAJOR << 8) | 0;
	} else {
		st->st_mode = S_IFIFO | 0600;
	}
	return 0;
}

/* A sane cooked-mode terminal, as a fresh pty reports. */
static void default_termios(struct termios *t)
{
	memset(t, 0, sizeof(*t));
	t->c_iflag = ICRNL | IXON;
	t->c_oflag = OPOST | ONLCR;
	t->c_cflag = B38400 | CS8 | CREAD;
	t->c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN | ECHOCTL | ECHOKE;
	t->c_cc[VINTR] = 3;
	t->c_cc[VQUIT] = 28;
	t->c_cc[VERASE] = 127;
	t->c_cc[VKILL] = 21;
	t->c_cc[VEOF] = 4;
	t->c_cc[VMIN] = 1;
	t->c_cc[VSUSP] = 26;
}

static int64_t console_ioctl(struct file *f, unsigned int cmd, uint64_t arg)
{
	struct termios t;
	struct winsize ws = {.ws_row = console.rows, .ws_col = console.cols};

	if (!is_tty(f))
		return -ENOTTY;
	switch (cmd) {
	case TCGETS:
		default_termios(&t);
		return copy_to_user(arg, &t, sizeof(t));
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		return 0; /* the host terminal stays in its own mode */
	case TIOCGWINSZ:
		return copy_to_user(arg, &ws, sizeof(ws));
	case TIOCGPGRP:
	case TIOCSPGRP:
		return cmd == TIOCGPGRP ? copy_to_user(arg, &(int){1}, sizeof(int)) : 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_ops console_ops = {
	.read = console_read,
	.write = console_write,
	.stat = console_stat,
	.ioctl = console_ioctl,
	.poll = console_poll,
};

struct file *console_open(int fd)
{
	static const char *const names[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
	struct file *f = file_alloc(&console_ops, fd == 0 ? O_RDONLY : O_WRONLY, names[fd]);

	if (f) {
		f->stream = true;
		f->priv = (void *)(uintptr_t)fd;
	}
	return f;
}
