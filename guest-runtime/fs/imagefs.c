/* SPDX-License-Identifier: MIT */
#include "fs/imagefs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/dirent_out.h"
#include "fs/file.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/printk.h"
#include "linux/mm.h"
#include "linux/uaccess.h"

/* st_dev of image i: made-up numbers, distinct per image. */
#define IMAGE_DEV_BASE 0xfe00

static struct {
	struct erofs fs[IMAGEFS_MAX];
	uint64_t gpa[IMAGEFS_MAX];
	unsigned int n;
} images;

int imagefs_init(const struct boot_info *bi)
{
	for (unsigned int i = 0; i < bi->nr_images; i++) {
		int rc = erofs_mount(&images.fs[i], phys_to_virt(bi->images[i].gpa),
				     bi->images[i].size);

		if (rc < 0) {
			printk("lispvm: image %s is corrupt (%d)\n",
			       bi->images[i].path ? bi->images[i].path : "?", rc);
			return -EUCLEAN;
		}
		images.gpa[i] = bi->images[i].gpa;
	}
	images.n = bi->nr_images;
	return 0;
}

static bool is_dir(const struct erofs_inode *ino)
{
	return S_ISDIR(ino->mode);
}

static const struct vnode_ops imagefs_vnode_ops;

/* Image filesystems share one fs_id: the union is one read-only tree. */
#define IMAGEFS_FS_ID 0

static void to_vnode(const struct imagefs_node *n, struct vnode *out)
{
	out->ops = &imagefs_vnode_ops;
	out->mode = n->inode.mode;
	out->fs_id = IMAGEFS_FS_ID;
	out->image = *n;
}

static void union_root(struct imagefs_node *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < images.n; i++) {
		struct erofs_inode ino;

		if (erofs_read_inode(&images.fs[i], images.fs[i].root_nid, &ino) < 0)
			continue;
		if (out->dir_mask == 0) {
			out->image = i;
			out->inode = ino;
		}
		out->dir_mask |= 1u << i;
		out->dir_nids[i] = images.fs[i].root_nid;
	}
}

void imagefs_root(struct vnode *out)
{
	struct imagefs_node root;

	union_root(&root);
	to_vnode(&root, out);
}

static int union_lookup(const struct imagefs_node *dir, const char *name, uint64_t namelen,
			struct imagefs_node *out)
{
	bool found = false;

	if (!is_dir(&dir->inode))
		return -ENOTDIR;
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < images.n; i++) {
		struct erofs_inode d, ino;
		uint64_t nid;

		if (!(dir->dir_mask & (1u << i)))
			continue;
		/* The node already holds the first image's directory inode. */
		if (i == dir->image)
			d = dir->inode;
		else if (erofs_read_inode(&images.fs[i], dir->dir_nids[i], &d) < 0)
			continue;
		if (erofs_lookup(&images.fs[i], &d, name, namelen, &nid) < 0 ||
		    erofs_read_inode(&images.fs[i], nid, &ino) < 0)
			continue;
		if (!found) {
			found = true;
			out->image = i;
			out->inode = ino;
			if (!is_dir(&ino))
				return 0; /* a file hides directories below it */
		}
		if (is_dir(&ino)) {
			out->dir_mask |= 1u << i;
			out->dir_nids[i] = nid;
		}
	}
	return found ? 0 : -ENOENT;
}

/* Images never change, so lookups are cached, found and missing alike:
 * ld.so probes the same directories again and again, and a cached answer
 * costs a hash and a compare instead of two binary searches and an inode
 * read (ring-0 instructions are what costs where ring 0 is emulated).  A
 * directory of the union is identified by its first image and inode. */
#define LOOKUP_CACHE_SIZE 256 /* entries, a power of two */
#define LOOKUP_NAME_MAX	  56  /* longer names are not cached */

struct lookup_entry {
	uint64_t dir_nid;
	uint32_t dir_image;
	uint8_t name_len; /* 0: empty slot */
	char name[LOOKUP_NAME_MAX];
	int rc;
	struct imagefs_node node;
};

static struct lookup_entry lookup_cache[LOOKUP_CACHE_SIZE];

static struct lookup_entry *cache_slot(const struct imagefs_node *dir, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)dir->inode.nid ^ (dir->image << 24);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return &lookup_cache[h & (LOOKUP_CACHE_SIZE - 1)];
}

static int cached_lookup(const struct imagefs_node *dir, const char *name, size_t len,
			 struct imagefs_node *out)
{
	struct lookup_entry *e;
	int rc;

	if (len > LOOKUP_NAME_MAX)
		return union_lookup(dir, name, len, out);
	e = cache_slot(dir, name, len);
	if (e->name_len == len && e->dir_nid == dir->inode.nid && e->dir_image == dir->image &&
	    memcmp(e->name, name, len) == 0) {
		if (e->rc == 0)
			*out = e->node;
		return e->rc;
	}
	rc = union_lookup(dir, name, len, out);
	if (rc == 0 || rc == -ENOENT) {
		e->dir_nid = dir->inode.nid;
		e->dir_image = dir->image;
		e->name_len = (uint8_t)len;
		memcpy(e->name, name, len);
		e->rc = rc;
		if (rc == 0)
			e->node = *out;
	}
	return rc;
}

static int imagefs_lookup(const struct vnode *dir, const char *path, const char *name, size_t len,
			  struct vnode *out)
{
	struct imagefs_node n;
	int rc;

	(void)path;
	rc = cached_lookup(&dir->image, name, len, &n);
	if (rc == 0)
		to_vnode(&n, out);
	return rc;
}

static int64_t imagefs_readlink(const struct vnode *v, const char *path, char *buf, uint64_t size)
{
	const struct imagefs_node *n = &v->image;
	int64_t len;

	(void)path;
	if (!S_ISLNK(n->inode.mode))
		return -EINVAL;
	if (n->inode.size >= size)
		return -ENAMETOOLONG;
	len = erofs_read(&images.fs[n->image], &n->inode, 0, buf, n->inode.size);
	if (len < 0)
		return len;
	buf[len] = '\0';
	return len;
}

static void node_stat(const struct imagefs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = IMAGE_DEV_BASE + n->image;
	st->st_ino = n->inode.nid;
	st->st_mode = n->inode.mode;
	st->st_nlink = n->inode.nlink;
	st->st_uid = n->inode.uid;
	st->st_gid = n->inode.gid;
	st->st_size = (long)n->inode.size;
	st->st_blksize = PAGE_SIZE;
	/* As Linux's erofs: whole blocks, in 512-byte units. */
	st->st_blocks =
		(long)(((n->inode.size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1)) / 512);
	st->st_atime = st->st_mtime = st->st_ctime = (long)n->inode.mtime;
	st->st_atime_nsec = st->st_mtime_nsec = st->st_ctime_nsec = n->inode.mtime_nsec;
}

/* ---- open files ---- */

static const struct imagefs_node *node_of(struct file *f)
{
	return f->priv;
}

/* Straight from the image page when the data is block-aligned (always,
 * for images made with -E noinline_data); through a bounce buffer for an
 * inline tail. */
static int64_t copy_page_part(const struct imagefs_node *n, void *buf, uint64_t len, uint64_t off)
{
	const struct erofs *fs = &images.fs[n->image];
	int64_t at = erofs_page_offset(fs, &n->inode, off & ~(uint64_t)(PAGE_SIZE - 1));
	uint8_t bounce[256];
	int64_t got;

	if (at >= 0)
		return uaccess_copy(buf, fs->base + at + (off & (PAGE_SIZE - 1)), len)
			       ? -EFAULT
			       : (int64_t)len;
	if (len > sizeof(bounce))
		len = sizeof(bounce);
	got = erofs_read(fs, &n->inode, off, bounce, len);
	if (got > 0 && uaccess_copy(buf, bounce, (uint64_t)got) != 0)
		return -EFAULT;
	return got;
}

static int64_t imagefs_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	const struct imagefs_node *n = node_of(f);
	uint64_t done = 0;

	if (is_dir(&n->inode))
		return -EISDIR;
	if (off >= n->inode.size)
		return 0;
	if (len > n->inode.size - off)
		len = n->inode.size - off;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t chunk = PAGE_SIZE - (pos & (PAGE_SIZE - 1));
		int64_t got;

		if (chunk > len - done)
			chunk = len - done;
		got = copy_page_part(n, (char *)buf + done, chunk, pos);
		if (got <= 0)
			return done ? (int64_t)done : (got < 0 ? got : -EIO);
		done += (uint64_t)got;
	}
	return (int64_t)done;
}

static int imagefs_file_stat(struct file *f, struct stat *st)
{
	node_stat(node_of(f), st);
	return 0;
}

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static int imagefs_mmap(struct file *f, uint64_t off, struct mm_backing *out)
{
	const struct imagefs_node *n = node_of(f);
	int64_t at;

	if (!S_ISREG(n->inode.mode))
		return -ENODEV;
	*out = (struct mm_backing){
		.file_bytes = off < n->inode.size ? n->inode.size - off : 0,
	};
	at = erofs_page_offset(&images.fs[n->image], &n->inode, off);
	/* Zero-copy only if every page from off on is a whole image block
	 * inside the image; for FLAT_PLAIN files (noinline_data) they are
	 * contiguous.  A corrupt size falls back to copying, which reads
	 * through the checked reader. */
	if (at >= 0 && n->inode.layout == EROFS_INODE_FLAT_PLAIN &&
	    page_up(n->inode.size - off) <= images.fs[n->image].size - (uint64_t)at) {
		out->kind = VMA_IMAGE;
		out->image_phys = images.gpa[n->image] + (uint64_t)at;
		return 0;
	}
	if (off >= n->inode.size) {
		out->kind = VMA_ANON;
		return 0;
	}
	out->kind = VMA_FILE;
	out->file = f;
	return 0;
}

struct dirent_sink {
	struct dirent_out out;
	uint64_t *pos;
	unsigned int image; /* which image of the union is being listed */
	const struct imagefs_node *dir;
};

/* True if an earlier image of the union has this name in the directory:
 * the earlier one shadows it. */
static bool shadowed(const struct dirent_sink *s, const char *name, uint64_t namelen)
{
	for (unsigned int i = 0; i < s->image; i++) {
		struct erofs_inode d;
		uint64_t nid;

		if ((s->dir->dir_mask & (1u << i)) &&
		    erofs_read_inode(&images.fs[i], s->dir->dir_nids[i], &d) == 0 &&
		    erofs_lookup(&images.fs[i], &d, name, namelen, &nid) == 0)
			return true;
	}
	return false;
}

#define POS_IMAGE_SHIFT 48

static int put_dirent(void *ctx, const char *name, size_t namelen, uint64_t nid, unsigned int dtype,
		      uint64_t next_cookie)
{
	struct dirent_sink *s = ctx;
	uint64_t next = ((uint64_t)s->image << POS_IMAGE_SHIFT) | next_cookie;
	/* The first image that has the directory lists "." and ".."; later
	 * ones repeat them, and names an earlier image shadows. */
	bool first = s->image == (unsigned int)__builtin_ctz(s->dir->dir_mask);

	if (!first &&
	    ((namelen == 1 && name[0] == '.') ||
	     (namelen == 2 && name[0] == '.' && name[1] == '.') || shadowed(s, name, namelen))) {
		*s->pos = next;
		return 0;
	}
	if (!dirent_out_put(&s->out, nid, (int64_t)next, dtype, name, namelen))
		return 1;
	*s->pos = next;
	return 0;
}

static int64_t imagefs_getdents(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
	const struct imagefs_node *n = node_of(f);
	struct dirent_sink sink = {.pos = pos, .dir = n};
	int rc = 0;

	if (!is_dir(&n->inode))
		return -ENOTDIR;
	if (dirent_out_init(&sink.out, len) < 0)
		return -ENOMEM;
	for (unsigned int i = (unsigned int)(*pos >> POS_IMAGE_SHIFT); i < images.n && rc == 0;
	     i++) {
		struct erofs_inode d;
		uint64_t cookie =
			(*pos >> POS_IMAGE_SHIFT) == i ? *pos & ((1ull << POS_IMAGE_SHIFT) - 1) : 0;

		if (!(n->dir_mask & (1u << i)))
			continue;
		sink.image = i;
		rc = erofs_read_inode(&images.fs[i], n->dir_nids[i], &d);
		if (rc == 0)
			rc = erofs_readdir(&images.fs[i], &d, &cookie, put_dirent, &sink);
		if (rc == 0 && i + 1 < images.n)
			*pos = (uint64_t)(i + 1) << POS_IMAGE_SHIFT;
	}
	if (rc < 0 && sink.out.used == 0) {
		kfree(sink.out.buf);
		return rc;
	}
	return dirent_out_finish(&sink.out, buf);
}

static void imagefs_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops imagefs_ops = {
	.read = imagefs_read,
	.stat = imagefs_file_stat,
	.getdents = imagefs_getdents,
	.mmap = imagefs_mmap,
	.release = imagefs_release,
};

static int imagefs_open(const struct vnode *v, const char *path, uint32_t flags, struct file **out)
{
	const struct imagefs_node *n = &v->image;
	struct imagefs_node *copy;
	struct file *f;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT)) == O_TRUNC)
		return -EROFS;
	if ((flags & O_DIRECTORY) && !is_dir(&n->inode))
		return -ENOTDIR;
	copy = kmalloc(sizeof(*copy));
	if (copy == NULL)
		return -ENOMEM;
	*copy = *n;
	f = file_alloc(&imagefs_ops, flags, path);
	if (f == NULL) {
		kfree(copy);
		return -ENOMEM;
	}
	f->priv = copy;
	f->size = n->inode.size;
	*out = f;
	return 0;
}

static int imagefs_vnode_stat(const struct vnode *v, const char *path, struct stat *st)
{
	(void)path;
	node_stat(&v->image, st);
	return 0;
}

static const struct vnode_ops imagefs_vnode_ops = {
	.magic = 0xe0f5e1e2,
	.readonly = true,
	.lookup = imagefs_lookup,
	.readlink = imagefs_readlink,
	.stat = imagefs_vnode_stat,
	.open = imagefs_open,
};
