/* SPDX-License-Identifier: MIT */
/*
 * A reader for uncompressed EROFS images (the format of Linux's
 * fs/erofs, made by mkfs.erofs) lying in memory: superblock, compact and
 * extended inodes, flat (plain and inline-tail) data, directories.
 *
 * The image comes from the host and is not trusted: every offset, size
 * and count read from it is checked against the image's length, and a
 * bad one is -EUCLEAN, never an access outside the image.  Compressed and
 * chunk-based files are refused (-EOPNOTSUPP); `lispvm image build`
 * never makes them.
 */
#ifndef GUEST_FS_EROFS_H
#define GUEST_FS_EROFS_H

#include <stddef.h>
#include <stdint.h>

/* Data layouts (i_format bits 1..3). */
#define EROFS_INODE_FLAT_PLAIN	0
#define EROFS_INODE_FLAT_INLINE 2

struct erofs {
	const uint8_t *base;
	uint64_t size;
	uint64_t meta_off; /* byte offset of the inode area */
	uint64_t root_nid;
	uint64_t build_time; /* mtime of compact inodes */
	uint32_t build_time_nsec;
};

struct erofs_inode {
	uint64_t nid;
	uint32_t mode, nlink, uid, gid;
	uint64_t size;
	uint64_t mtime;
	uint32_t mtime_nsec;
	unsigned int layout; /* EROFS_INODE_FLAT_* */
	uint64_t data_off;   /* byte offset of block 0 of the data */
	uint64_t inline_off; /* FLAT_INLINE: byte offset of the tail */
	uint32_t rdev;	     /* device files */
};

/* Checks the superblock of the image at base (size bytes).  0, -EUCLEAN
 * (not EROFS, or inconsistent) or -EOPNOTSUPP (features we do not read). */
int erofs_mount(struct erofs *fs, const void *base, uint64_t size);

int erofs_read_inode(const struct erofs *fs, uint64_t nid, struct erofs_inode *out);

/* Finds name in directory dir: 0 and *nid, -ENOENT, -ENOTDIR or -EUCLEAN. */
int erofs_lookup(const struct erofs *fs, const struct erofs_inode *dir, const char *name,
		 size_t namelen, uint64_t *nid);

/* Copies file bytes [off, off+len) into the kernel buffer buf; the count
 * (short at end of file) or -EUCLEAN. */
int64_t erofs_read(const struct erofs *fs, const struct erofs_inode *ino, uint64_t off, void *buf,
		   uint64_t len);

/* The image byte offset of the whole block holding file offset off, or
 * -ENXIO if that block is an inline tail or lies past the data. */
int64_t erofs_page_offset(const struct erofs *fs, const struct erofs_inode *ino, uint64_t off);

/* Called per directory entry; d_type is Linux's DT_*; next is the cookie
 * that resumes after this entry.  Nonzero stops the listing. */
typedef int (*erofs_dirent_fn)(void *ctx, const char *name, size_t namelen, uint64_t nid,
			       unsigned int d_type, uint64_t next);

/* Lists dir from *cookie (0 = start); returns 0 at the end (with *cookie
 * past the last entry), the callback's nonzero value when it stopped
 * (with *cookie at that entry), or -EUCLEAN. */
int erofs_readdir(const struct erofs *fs, const struct erofs_inode *dir, uint64_t *cookie,
		  erofs_dirent_fn fn, void *ctx);

#endif
