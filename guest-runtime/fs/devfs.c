/* SPDX-License-Identifier: MIT */
#include "fs/devfs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/dirent_out.h"
#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/entropy.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "linux/mm.h"
#include "linux/process.h"
#include "linux/snapshot_point.h"
#include "linux/uaccess.h"

#define DEVFS_DEV 0x0005 /* st_dev of /dev itself, as devtmpfs has */

enum dev_kind {
	DEV_ROOT,
	DEV_NULL,
	DEV_ZERO,
	DEV_FULL,
	DEV_RANDOM,
	DEV_URANDOM,
	DEV_TTY,
	DEV_STDIN,
	DEV_STDOUT,
	DEV_STDERR,
	DEV_FD,
	DEV_SNAPSHOT,
	DEV_RESUMED,
	DEV_GC,
	DEV_COUNT
};

struct dev_entry {
	const char *name;
	uint32_t mode;
	uint32_t rdev;	    /* major << 8 | minor */
	const char *target; /* symlinks */
};

static const struct dev_entry entries[DEV_COUNT] = {
	[DEV_ROOT] = {"", S_IFDIR | 0755, 0, NULL},
	[DEV_NULL] = {"null", S_IFCHR | 0666, 0x103, NULL},
	[DEV_ZERO] = {"zero", S_IFCHR | 0666, 0x105, NULL},
	[DEV_FULL] = {"full", S_IFCHR | 0666, 0x107, NULL},
	[DEV_RANDOM] = {"random", S_IFCHR | 0666, 0x108, NULL},
	[DEV_URANDOM] = {"urandom", S_IFCHR | 0666, 0x109, NULL},
	[DEV_TTY] = {"tty", S_IFCHR | 0666, 0x500, NULL},
	[DEV_STDIN] = {"stdin", S_IFLNK | 0777, 0, "/proc/self/fd/0"},
	[DEV_STDOUT] = {"stdout", S_IFLNK | 0777, 0, "/proc/self/fd/1"},
	[DEV_STDERR] = {"stderr", S_IFLNK | 0777, 0, "/proc/self/fd/2"},
	[DEV_FD] = {"fd", S_IFLNK | 0777, 0, "/proc/self/fd"},
	/* A misc device number of the local-use range. */
	[DEV_SNAPSHOT] = {"lispvm-snapshot", S_IFCHR | 0444, 0xaf0, NULL},
	[DEV_RESUMED] = {"lispvm-resumed", S_IFCHR | 0444, 0xaf1, NULL},
	/* A write says a collection ended (LISPVM_HC_GC_DONE). */
	[DEV_GC] = {"lispvm-gc", S_IFCHR | 0222, 0xaf2, NULL},
};

static const struct vnode_ops devfs_vnode_ops;
static unsigned int devfs_fs_id;
static const uint8_t zeros[PAGE_SIZE];

static void to_vnode(unsigned int dev, struct vnode *out)
{
	if (devfs_fs_id == 0)
		devfs_fs_id = vfs_new_fs_id();
	out->ops = &devfs_vnode_ops;
	out->mode = entries[dev].mode;
	out->fs_id = devfs_fs_id;
	out->dev = dev;
}

void devfs_root(struct vnode *out)
{
	to_vnode(DEV_ROOT, out);
}

static int devfs_lookup(const struct vnode *dir, const char *path, const char *name, size_t len,
			struct vnode *out)
{
	(void)dir;
	(void)path;
	for (unsigned int i = 1; i < DEV_COUNT; i++) {
		if (strlen(entries[i].name) == len && memcmp(entries[i].name, name, len) == 0) {
			to_vnode(i, out);
			return 0;
		}
	}
	return -ENOENT;
}

static int64_t devfs_readlink(const struct vnode *n, const char *path, char *buf, uint64_t size)
{
	size_t len = strlen(entries[n->dev].target);

	(void)path;
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, entries[n->dev].target, len + 1);
	return (int64_t)len;
}

static void dev_stat(unsigned int dev, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = DEVFS_DEV;
	st->st_ino = dev + 1;
	st->st_mode = entries[dev].mode;
	st->st_nlink = dev == DEV_ROOT ? 2 : 1;
	st->st_rdev = entries[dev].rdev;
	st->st_blksize = PAGE_SIZE;
	if (S_ISLNK(entries[dev].mode))
		st->st_size = (long)strlen(entries[dev].target);
	st->st_atime = st->st_mtime = st->st_ctime =
		(long)(process_start_realtime_ns() / NSEC_PER_SEC);
}

static int devfs_stat(const struct vnode *n, const char *path, struct stat *st)
{
	(void)path;
	dev_stat(n->dev, st);
	return 0;
}

/* ---- open devices ---- */

static unsigned int dev_of(struct file *f)
{
	return (unsigned int)(uintptr_t)f->priv;
}

/* Fills a user buffer from src_fn's kernel chunks (zeros or entropy). */
static int64_t fill_user(void *buf, uint64_t len, bool random)
{
	uint8_t chunk[256];
	uint64_t done = 0;

	while (done < len) {
		uint64_t n = len - done;
		const void *src = zeros;

		if (random) {
			n = n < sizeof(chunk) ? n : sizeof(chunk);
			if (entropy_fill(chunk, n) < 0)
				return done ? (int64_t)done : -EIO;
			src = chunk;
		} else if (n > sizeof(zeros)) {
			n = sizeof(zeros);
		}
		if (uaccess_copy((uint8_t *)buf + done, src, n) != 0)
			return done ? (int64_t)done : -EFAULT;
		done += n;
	}
	return (int64_t)done;
}

static int64_t dev_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	(void)off;
	switch (dev_of(f)) {
	case DEV_NULL:
		return 0;
	case DEV_ZERO:
	case DEV_FULL:
		return fill_user(buf, len, false);
	case DEV_RANDOM:
	case DEV_URANDOM:
		return fill_user(buf, len, true);
	case DEV_SNAPSHOT:
		return snapshot_point_read(buf, len, off);
	case DEV_RESUMED:
		return snapshot_point_resumed_read(buf, len, off, f->flags & O_NONBLOCK);
	default:
		return -EISDIR;
	}
}

static int64_t dev_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	(void)buf;
	(void)off;
	if (dev_of(f) == DEV_GC)
		hypercall(LISPVM_HC_GC_DONE, 0, 0);
	return dev_of(f) == DEV_FULL ? -ENOSPC : (int64_t)len;
}

static int dev_file_stat(struct file *f, struct stat *st)
{
	dev_stat(dev_of(f), st);
	return 0;
}

static int dev_mmap(struct file *f, uint64_t off, struct mm_backing *out)
{
	(void)off;
	if (dev_of(f) != DEV_ZERO)
		return -ENODEV;
	*out = (struct mm_backing){.kind = VMA_ANON};
	return 0;
}

static int64_t dev_getdents(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
	struct dirent_out o;

	if (dev_of(f) != DEV_ROOT)
		return -ENOTDIR;
	if (dirent_out_init(&o, len) < 0)
		return -ENOMEM;
	for (; *pos < DEV_COUNT + 1; (*pos)++) {
		/* Position 0 is ".", 1 is "..", then entries 1.. by index. */
		const char *name = *pos == 0 ? "." : *pos == 1 ? ".." : entries[*pos - 1].name;
		uint32_t mode = *pos < 2 ? S_IFDIR : entries[*pos - 1].mode;

		if (!dirent_out_put(&o, *pos < 2 ? 1 : *pos, (int64_t)*pos + 1, dirent_type(mode),
				    name, strlen(name)))
			break;
	}
	return dirent_out_finish(&o, buf);
}

/* Every device is ready at once, but /dev/lispvm-resumed until a resume
 * past the file's position. */
static unsigned int dev_poll(struct file *f)
{
	unsigned int ready = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;

	if (dev_of(f) == DEV_RESUMED && !snapshot_point_resumed_past(f->pos))
		ready &= ~(unsigned int)(POLLIN | POLLRDNORM);
	return ready;
}

static const struct file_ops dev_file_ops = {
	.read = dev_read,
	.write = dev_write,
	.stat = dev_file_stat,
	.getdents = dev_getdents,
	.mmap = dev_mmap,
	.poll = dev_poll,
};

static int devfs_open(const struct vnode *n, const char *path, uint32_t flags, struct file **out)
{
	struct file *f;

	if (n->dev == DEV_TTY)
		return -ENXIO; /* no controlling terminal */
	f = file_alloc(&dev_file_ops, flags, path);
	if (f == NULL)
		return -ENOMEM;
	f->priv = (void *)(uintptr_t)n->dev;
	*out = f;
	return 0;
}

static const struct vnode_ops devfs_vnode_ops = {
	.magic = 0x01021994,
	.readonly = false,
	.lookup = devfs_lookup,
	.readlink = devfs_readlink,
	.stat = devfs_stat,
	.open = devfs_open,
};
