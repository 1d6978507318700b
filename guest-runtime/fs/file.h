/* SPDX-License-Identifier: MIT */
/*
 * Open files: what a file descriptor points at.  Each kind of file (an
 * image file, a directory, the console, a pipe, tmpfs...) supplies its
 * operations; the system-call layer does the Linux bookkeeping (offsets,
 * flags, errno values) once for all of them.
 *
 * Buffers passed to the operations may be user or kernel addresses; the
 * caller has checked that a user range lies in the lower half, and
 * operations copy with uaccess_copy so a bad user page gives -EFAULT.
 */
#ifndef GUEST_FS_FILE_H
#define GUEST_FS_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include <asm/stat.h>

struct file;
struct mm_backing;

struct file_ops {
	/* Positional read/write; return bytes moved or -errno. */
	int64_t (*read)(struct file *f, void *buf, uint64_t len, uint64_t off);
	int64_t (*write)(struct file *f, const void *buf, uint64_t len, uint64_t off);
	int (*stat)(struct file *f, struct stat *st);
	/* getdents64 into buf from directory position *pos; bytes or -errno. */
	int64_t (*getdents)(struct file *f, void *buf, uint64_t len, uint64_t *pos);
	/* How mmap finds the pages at offset off; -ENODEV if it cannot. */
	int (*mmap)(struct file *f, uint64_t off, struct mm_backing *out);
	int64_t (*ioctl)(struct file *f, unsigned int cmd, uint64_t arg);
	/* The physical page holding offset off (page-aligned), allocated if
	 * need be, for MAP_SHARED; 0 past the end of the file (SIGBUS) or when
	 * out of memory.  NULL: shared
	 * mappings get private copies. */
	uint64_t (*page)(struct file *f, uint64_t off);
	/* ftruncate; NULL: -EINVAL (not a regular file on a writable place). */
	int (*truncate)(struct file *f, uint64_t size);
	/* fsync/fdatasync; NULL: nothing to flush. */
	int (*fsync)(struct file *f);
	/* POLL* bits ready now; NULL: always readable and writable, as
	 * regular files are. */
	unsigned int (*poll)(struct file *f);
	void (*release)(struct file *f);
};

struct file {
	int refs;
	const struct file_ops *ops;
	uint32_t flags;	    /* O_ACCMODE, O_APPEND, O_NONBLOCK, O_DIRECTORY... */
	bool stream;	    /* no offset: console, pipes */
	bool epoll_watched; /* some epoll set has (had) it: tell epoll at release */
	uint64_t pos;	    /* read/write/lseek position */
	uint64_t size;	    /* for SEEK_END; updated by writers */
	char *path;	    /* absolute path it was opened by (procfs, readlink) */
	void *priv;	    /* the filesystem's */
};

struct file *file_alloc(const struct file_ops *ops, uint32_t flags, const char *path);
void file_get(struct file *f);
void file_put(struct file *f);

/* Reads into a kernel buffer (the ELF loader, page faults). */
int64_t file_read_kernel(struct file *f, void *buf, uint64_t len, uint64_t off);

#endif
