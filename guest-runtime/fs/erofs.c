/* SPDX-License-Identifier: MIT */
#include "fs/erofs.h"

#include <errno.h>
#include <linux/stat.h>
#include <string.h>

/* On-disk facts of the EROFS format (Linux fs/erofs/erofs_fs.h), as
 * offsets: the structures are little-endian and packed, so fields are
 * read with memcpy rather than through casts. */
#define SB_OFFSET	    1024
#define SB_MAGIC	    0xe0f5e1e2u
#define SB_SIZE		    128
#define SB_BLKSZBITS	    12
#define SB_ROOT_NID	    14
#define SB_BUILD_TIME	    24
#define SB_BUILD_TIME_NSEC  32
#define SB_META_BLKADDR	    40
#define SB_FEATURE_INCOMPAT 80
#define SB_EXTRA_DEVICES    86

/* Only this incompatible feature may be set: it changes how compressed
 * data is padded, which an uncompressed image never uses. */
#define FEATURE_INCOMPAT_ZERO_PADDING 0x1

#define BLOCK_SHIFT 12
#define BLOCK_SIZE  (1u << BLOCK_SHIFT)
#define NID_SHIFT   5 /* inode slots are 32 bytes */

#define INODE_COMPACT_SIZE  32
#define INODE_EXTENDED_SIZE 64
#define XATTR_IBODY_HEADER  12

#define DIRENT_SIZE 12 /* le64 nid, le16 nameoff, u8 file_type, u8 reserved */

static uint16_t le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* True if [off, off+len) lies inside the image. */
static int in_image(const struct erofs *fs, uint64_t off, uint64_t len)
{
	return off <= fs->size && len <= fs->size - off;
}

int erofs_mount(struct erofs *fs, const void *base, uint64_t size)
{
	const uint8_t *sb = (const uint8_t *)base + SB_OFFSET;
	struct erofs_inode root;

	memset(fs, 0, sizeof(*fs));
	if (size < SB_OFFSET + SB_SIZE || le32(sb) != SB_MAGIC)
		return -EUCLEAN;
	if (sb[SB_BLKSZBITS] != BLOCK_SHIFT)
		return -EOPNOTSUPP;
	if ((le32(sb + SB_FEATURE_INCOMPAT) & ~FEATURE_INCOMPAT_ZERO_PADDING) != 0 ||
	    le16(sb + SB_EXTRA_DEVICES) != 0)
		return -EOPNOTSUPP;
	fs->base = base;
	fs->size = size;
	fs->meta_off = (uint64_t)le32(sb + SB_META_BLKADDR) << BLOCK_SHIFT;
	fs->root_nid = le16(sb + SB_ROOT_NID);
	fs->build_time = le64(sb + SB_BUILD_TIME);
	fs->build_time_nsec = le32(sb + SB_BUILD_TIME_NSEC);
	if (fs->meta_off >= size || erofs_read_inode(fs, fs->root_nid, &root) < 0 ||
	    !S_ISDIR(root.mode))
		return -EUCLEAN;
	return 0;
}

int erofs_read_inode(const struct erofs *fs, uint64_t nid, struct erofs_inode *out)
{
	uint64_t off, isize, xattr_isize;
	const uint8_t *p;
	uint16_t format, xattr_count;

	if (nid > (fs->size >> NID_SHIFT))
		return -EUCLEAN;
	off = fs->meta_off + (nid << NID_SHIFT);
	if (!in_image(fs, off, INODE_COMPACT_SIZE))
		return -EUCLEAN;
	p = fs->base + off;
	format = le16(p);
	xattr_count = le16(p + 2);
	isize = (format & 1) ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
	xattr_isize = xattr_count ? XATTR_IBODY_HEADER + 4 * (uint64_t)(xattr_count - 1) : 0;
	if (!in_image(fs, off, isize + xattr_isize))
		return -EUCLEAN;

	memset(out, 0, sizeof(*out));
	out->nid = nid;
	out->layout = (format >> 1) & 7;
	out->mode = le16(p + 4);
	out->data_off = (uint64_t)le32(p + 16) << BLOCK_SHIFT;
	out->rdev = le32(p + 16);
	out->inline_off = off + isize + xattr_isize;
	if (format & 1) {
		out->size = le64(p + 8);
		out->uid = le32(p + 24);
		out->gid = le32(p + 28);
		out->mtime = le64(p + 32);
		out->mtime_nsec = le32(p + 40);
		out->nlink = le32(p + 44);
	} else {
		out->nlink = le16(p + 6);
		out->size = le32(p + 8);
		out->uid = le16(p + 24);
		out->gid = le16(p + 26);
		out->mtime = fs->build_time;
		out->mtime_nsec = fs->build_time_nsec;
	}
	if (out->layout != EROFS_INODE_FLAT_PLAIN && out->layout != EROFS_INODE_FLAT_INLINE)
		return -EOPNOTSUPP;
	return 0;
}

static uint64_t block_count(const struct erofs_inode *ino)
{
	return (ino->size + BLOCK_SIZE - 1) >> BLOCK_SHIFT;
}

/* Where block b of the file's data lies in the image, and how many of
 * its bytes are file data. */
static int block_at(const struct erofs *fs, const struct erofs_inode *ino, uint64_t b,
		    uint64_t *off, uint64_t *len)
{
	uint64_t nblocks = block_count(ino);
	uint64_t start = b << BLOCK_SHIFT;

	if (b >= nblocks)
		return -EUCLEAN;
	*len = ino->size - start < BLOCK_SIZE ? ino->size - start : BLOCK_SIZE;
	if (ino->layout == EROFS_INODE_FLAT_INLINE && b == nblocks - 1) {
		*off = ino->inline_off;
		/* As Linux insists: an inline tail never crosses a block. */
		if ((*off & (BLOCK_SIZE - 1)) + *len > BLOCK_SIZE)
			return -EUCLEAN;
	} else {
		*off = ino->data_off + start;
	}
	return in_image(fs, *off, *len) ? 0 : -EUCLEAN;
}

int64_t erofs_page_offset(const struct erofs *fs, const struct erofs_inode *ino, uint64_t off)
{
	uint64_t b = off >> BLOCK_SHIFT, at, len;

	if (b >= block_count(ino) ||
	    (ino->layout == EROFS_INODE_FLAT_INLINE && b == block_count(ino) - 1))
		return -ENXIO;
	if (block_at(fs, ino, b, &at, &len) < 0 || !in_image(fs, at, BLOCK_SIZE))
		return -ENXIO;
	return (int64_t)at;
}

int64_t erofs_read(const struct erofs *fs, const struct erofs_inode *ino, uint64_t off, void *buf,
		   uint64_t len)
{
	uint64_t done = 0;

	if (off >= ino->size)
		return 0;
	if (len > ino->size - off)
		len = ino->size - off;
	while (done < len) {
		uint64_t pos = off + done, in_block = pos & (BLOCK_SIZE - 1), at, blen, n;
		int rc = block_at(fs, ino, pos >> BLOCK_SHIFT, &at, &blen);

		if (rc < 0)
			return rc;
		n = blen - in_block;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, fs->base + at + in_block, n);
		done += n;
	}
	return (int64_t)done;
}

/* ---- directories ---- */

/* One directory block, checked: its entry count and where names end. */
struct dir_block {
	const uint8_t *p;
	uint64_t len;
	unsigned int count;
};

static int dir_block(const struct erofs *fs, const struct erofs_inode *dir, uint64_t b,
		     struct dir_block *db)
{
	uint64_t at, len;
	uint16_t first;
	int rc = block_at(fs, dir, b, &at, &len);

	if (rc < 0)
		return rc;
	if (len < DIRENT_SIZE)
		return -EUCLEAN;
	db->p = fs->base + at;
	db->len = len;
	first = le16(db->p + 8);
	if (first < DIRENT_SIZE || first % DIRENT_SIZE != 0 || first >= len)
		return -EUCLEAN;
	db->count = first / DIRENT_SIZE;
	return 0;
}

/* Entry i's name; the last name runs to a NUL or the end of the block. */
static int dirent_name(const struct dir_block *db, unsigned int i, const char **name,
		       size_t *namelen)
{
	uint64_t start = le16(db->p + i * DIRENT_SIZE + 8), end;

	if (i + 1 < db->count)
		end = le16(db->p + (i + 1) * DIRENT_SIZE + 8);
	else
		end = start + strnlen((const char *)db->p + (start < db->len ? start : db->len),
				      start < db->len ? db->len - start : 0);
	if (start < db->count * DIRENT_SIZE || end <= start || end > db->len)
		return -EUCLEAN;
	*name = (const char *)db->p + start;
	*namelen = end - start;
	return 0;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int cmp_entry(const struct dir_block *db, unsigned int i, const char *name, size_t namelen,
		     int *cmp)
{
	const char *n;
	size_t nl;
	int rc = dirent_name(db, i, &n, &nl);

	if (rc == 0)
		*cmp = name_cmp(name, namelen, n, nl);
	return rc;
}

/* mkfs.erofs sorts a directory's names across all of its blocks, so both
 * the block and the entry are found by binary search, as Linux does: a
 * lookup touches O(log n) names, which matters when ring-0 instructions
 * are expensive. */
int erofs_lookup(const struct erofs *fs, const struct erofs_inode *dir, const char *name,
		 size_t namelen, uint64_t *nid)
{
	uint64_t lo = 0, hi = block_count(dir), candidate = UINT64_MAX;
	struct dir_block db;
	int cmp = 0, rc;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if ((rc = dir_block(fs, dir, mid, &db)) < 0 ||
		    (rc = cmp_entry(&db, 0, name, namelen, &cmp)) < 0)
			return rc;
		if (cmp == 0) {
			*nid = le64(db.p);
			return 0;
		}
		if (cmp < 0) {
			hi = mid;
		} else {
			candidate = mid;
			lo = mid + 1;
		}
	}
	if (candidate == UINT64_MAX)
		return -ENOENT;
	if ((rc = dir_block(fs, dir, candidate, &db)) < 0)
		return rc;
	for (unsigned int l = 1, h = db.count; l < h;) {
		unsigned int mid = l + (h - l) / 2;

		if ((rc = cmp_entry(&db, mid, name, namelen, &cmp)) < 0)
			return rc;
		if (cmp == 0) {
			*nid = le64(db.p + mid * DIRENT_SIZE);
			return 0;
		}
		if (cmp < 0)
			h = mid;
		else
			l = mid + 1;
	}
	return -ENOENT;
}

static unsigned int dtype_of(uint8_t erofs_type)
{
	/* EROFS_FT_* in order: unknown, reg, dir, chr, blk, fifo, sock, lnk. */
	static const uint8_t dtypes[] = {0, 8, 4, 2, 6, 1, 12, 10};

	return erofs_type < sizeof(dtypes) ? dtypes[erofs_type] : 0;
}

/* A cookie is block << BLOCK_SHIFT | entry index: an entry is 12 bytes,
 * so a block never holds BLOCK_SIZE of them. */
int erofs_readdir(const struct erofs *fs, const struct erofs_inode *dir, uint64_t *cookie,
		  erofs_dirent_fn fn, void *ctx)
{
	uint64_t nblocks = block_count(dir);

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	for (uint64_t b = *cookie >> BLOCK_SHIFT; b < nblocks; b++) {
		struct dir_block db;
		int rc = dir_block(fs, dir, b, &db);

		if (rc < 0)
			return rc;
		for (unsigned int i = (unsigned int)(*cookie & (BLOCK_SIZE - 1)); i < db.count;
		     i++) {
			const uint8_t *d = db.p + i * DIRENT_SIZE;
			uint64_t next = i + 1 < db.count ? (b << BLOCK_SHIFT) | (i + 1)
							 : (b + 1) << BLOCK_SHIFT;
			const char *name;
			size_t namelen;

			*cookie = (b << BLOCK_SHIFT) | i;
			if ((rc = dirent_name(&db, i, &name, &namelen)) < 0)
				return rc;
			rc = fn(ctx, name, namelen, le64(d), dtype_of(d[10]), next);
			if (rc != 0)
				return rc;
		}
		*cookie = (b + 1) << BLOCK_SHIFT;
	}
	return 0;
}
