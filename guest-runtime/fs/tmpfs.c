/* SPDX-License-Identifier: MIT */
#include "fs/tmpfs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/dirent_out.h"
#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "linux/mm.h"
#include "linux/uaccess.h"

/* Made-up device number of tmpfs instances (plus the instance's fs_id). */
#define TMPFS_DEV_BASE 0x2a00

struct tmpfs_dirent {
	struct tmpfs_dirent *next;
	struct tmpfs_inode *inode;
	/* Order of creation: getdents resumes by it, so removing entries
	 * while listing (rm -r) skips nothing. */
	uint64_t seq;
	size_t len;
	char name[];
};

struct tmpfs_inode {
	uint32_t mode, nlink;
	int open_refs;
	unsigned int fs_id;
	uint64_t ino, size;
	uint64_t atime, mtime, ctime; /* ns since the epoch */
	struct tmpfs_inode *parent;   /* directories: for ".." in listings */
	struct tmpfs_dirent *entries; /* directories, oldest first */
	uint64_t next_seq;
	uint64_t *pages; /* regular files: physical address per page, 0 = hole */
	uint64_t nr_slots;
	char *target; /* symlinks */
	/* Some MAP_SHARED mapping holds its pages: truncation zeros them
	 * rather than freeing what a page table may still point at. */
	bool pages_lent;
};

static const struct vnode_ops tmpfs_vnode_ops;
static uint64_t next_ino = 2;
static const uint8_t zero_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static struct tmpfs_inode *inode_new(unsigned int fs_id, uint32_t mode)
{
	struct tmpfs_inode *ino = kzalloc(sizeof(*ino));

	if (ino == NULL)
		return NULL;
	ino->mode = mode;
	ino->fs_id = fs_id;
	ino->ino = next_ino++;
	ino->atime = ino->mtime = ino->ctime = clock_realtime_ns();
	ino->next_seq = 2; /* 0 and 1 are "." and ".." */
	return ino;
}

static void free_pages_from(struct tmpfs_inode *ino, uint64_t first)
{
	for (uint64_t i = first; i < ino->nr_slots; i++) {
		if (ino->pages[i])
			pmem_free_pages(ino->pages[i], 1);
		ino->pages[i] = 0;
	}
}

/* Frees the inode once nothing names it and no file has it open. */
static void inode_maybe_free(struct tmpfs_inode *ino)
{
	if (ino->nlink > 0 || ino->open_refs > 0)
		return;
	free_pages_from(ino, 0);
	kfree(ino->pages);
	kfree(ino->target);
	kfree(ino);
}

static void to_vnode(struct tmpfs_inode *ino, struct vnode *out)
{
	out->ops = &tmpfs_vnode_ops;
	out->mode = ino->mode;
	out->fs_id = ino->fs_id;
	out->tmp = ino;
}

int tmpfs_new(struct vnode *root)
{
	struct tmpfs_inode *ino = inode_new(vfs_new_fs_id(), S_IFDIR | 01777);

	if (ino == NULL)
		return -ENOMEM;
	ino->nlink = 2;
	ino->parent = ino;
	to_vnode(ino, root);
	return 0;
}

static struct tmpfs_dirent *find(const struct tmpfs_inode *dir, const char *name, size_t len,
				 struct tmpfs_dirent ***link)
{
	struct tmpfs_dirent **pp = (struct tmpfs_dirent **)&dir->entries;

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->len == len && memcmp((*pp)->name, name, len) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static void touch(struct tmpfs_inode *ino)
{
	ino->mtime = ino->ctime = clock_realtime_ns();
}

static struct tmpfs_dirent *dirent_new(const char *name, size_t len, struct tmpfs_inode *ino)
{
	struct tmpfs_dirent *d = kmalloc(sizeof(*d) + len + 1);

	if (d == NULL)
		return NULL;
	d->next = NULL;
	d->inode = ino;
	d->len = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	return d;
}

/* Puts d at the end of dir (newest last) without counting links. */
static void attach(struct tmpfs_inode *dir, struct tmpfs_dirent *d)
{
	struct tmpfs_dirent **tail = &dir->entries;

	while (*tail)
		tail = &(*tail)->next;
	d->seq = dir->next_seq++;
	*tail = d;
	if (S_ISDIR(d->inode->mode))
		d->inode->parent = dir;
	touch(dir);
}

static int link_into(struct tmpfs_inode *dir, const char *name, size_t len, struct tmpfs_inode *ino)
{
	struct tmpfs_dirent *d = dirent_new(name, len, ino);

	if (d == NULL)
		return -ENOMEM;
	attach(dir, d);
	ino->nlink++;
	if (S_ISDIR(ino->mode))
		dir->nlink++;
	return 0;
}

/* Removes the entry; the inode survives while open or linked elsewhere. */
static void unlink_entry(struct tmpfs_inode *dir, struct tmpfs_dirent **link)
{
	struct tmpfs_dirent *d = *link;
	struct tmpfs_inode *ino = d->inode;

	*link = d->next;
	kfree(d);
	if (S_ISDIR(ino->mode)) {
		dir->nlink--;
		ino->nlink = 0; /* its own "." goes with it */
	} else {
		ino->nlink--;
	}
	ino->ctime = clock_realtime_ns();
	touch(dir);
	inode_maybe_free(ino);
}

/* ---- vnode operations ---- */

static int tmpfs_lookup(const struct vnode *dir, const char *path, const char *name, size_t len,
			struct vnode *out)
{
	struct tmpfs_dirent *d = find(dir->tmp, name, len, NULL);

	(void)path;
	if (d == NULL)
		return -ENOENT;
	to_vnode(d->inode, out);
	return 0;
}

static int64_t tmpfs_readlink(const struct vnode *n, const char *path, char *buf, uint64_t size)
{
	size_t len = strlen(n->tmp->target);

	(void)path;
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, n->tmp->target, len + 1);
	return (int64_t)len;
}

static void inode_stat(const struct tmpfs_inode *ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = TMPFS_DEV_BASE + ino->fs_id;
	st->st_ino = ino->ino;
	st->st_mode = ino->mode;
	st->st_nlink = ino->nlink;
	st->st_size = (long)ino->size;
	st->st_blksize = PAGE_SIZE;
	for (uint64_t i = 0; i < ino->nr_slots; i++)
		st->st_blocks += ino->pages[i] ? PAGE_SIZE / 512 : 0;
	st->st_atime = (long)(ino->atime / NSEC_PER_SEC);
	st->st_atime_nsec = ino->atime % NSEC_PER_SEC;
	st->st_mtime = (long)(ino->mtime / NSEC_PER_SEC);
	st->st_mtime_nsec = ino->mtime % NSEC_PER_SEC;
	st->st_ctime = (long)(ino->ctime / NSEC_PER_SEC);
	st->st_ctime_nsec = ino->ctime % NSEC_PER_SEC;
}

static int tmpfs_stat(const struct vnode *n, const char *path, struct stat *st)
{
	(void)path;
	inode_stat(n->tmp, st);
	return 0;
}

static int make_node(const struct vnode *dir, const char *name, size_t len, uint32_t mode,
		     struct tmpfs_inode **out)
{
	struct tmpfs_inode *ino;
	int rc;

	if (find(dir->tmp, name, len, NULL))
		return -EEXIST;
	if (dir->tmp->nlink == 0)
		return -ENOENT; /* a removed directory takes no new names */
	ino = inode_new(dir->fs_id, mode);
	if (ino == NULL)
		return -ENOMEM;
	rc = link_into(dir->tmp, name, len, ino);
	if (rc < 0) {
		kfree(ino);
		return rc;
	}
	*out = ino;
	return 0;
}

static int tmpfs_create(const struct vnode *dir, const char *path, const char *name, size_t len,
			uint32_t mode, struct vnode *out)
{
	struct tmpfs_inode *ino;
	int rc = make_node(dir, name, len, mode, &ino);

	(void)path;
	if (rc == 0)
		to_vnode(ino, out);
	return rc;
}

static int tmpfs_mkdir(const struct vnode *dir, const char *path, const char *name, size_t len,
		       uint32_t mode)
{
	struct tmpfs_inode *ino;
	int rc = make_node(dir, name, len, S_IFDIR | mode, &ino);

	(void)path;
	if (rc == 0)
		ino->nlink++; /* "." */
	return rc;
}

static int tmpfs_symlink(const struct vnode *dir, const char *path, const char *name, size_t len,
			 const char *target)
{
	size_t n = strlen(target) + 1;
	char *copy = kmalloc(n);
	struct tmpfs_inode *ino;
	int rc;

	(void)path;
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, target, n);
	rc = make_node(dir, name, len, S_IFLNK | 0777, &ino);
	if (rc < 0) {
		kfree(copy);
		return rc;
	}
	ino->target = copy;
	ino->size = n - 1;
	return 0;
}

static int tmpfs_unlink(const struct vnode *dir, const char *path, const char *name, size_t len)
{
	struct tmpfs_dirent **link;

	(void)path;
	if (find(dir->tmp, name, len, &link) == NULL)
		return -ENOENT;
	unlink_entry(dir->tmp, link);
	return 0;
}

static int tmpfs_rmdir(const struct vnode *dir, const char *path, const char *name, size_t len)
{
	struct tmpfs_dirent **link;
	struct tmpfs_dirent *d = find(dir->tmp, name, len, &link);

	(void)path;
	if (d == NULL)
		return -ENOENT;
	if (d->inode->entries != NULL)
		return -ENOTEMPTY;
	unlink_entry(dir->tmp, link);
	return 0;
}

static int tmpfs_rename(const struct vnode *from_dir, const char *from_path, const char *from_name,
			size_t from_len, const struct vnode *to_dir, const char *to_path,
			const char *to_name, size_t to_len)
{
	struct tmpfs_dirent **from_link, **to_link;
	struct tmpfs_dirent *from = find(from_dir->tmp, from_name, from_len, &from_link);
	struct tmpfs_dirent *to = find(to_dir->tmp, to_name, to_len, &to_link), *fresh;
	struct tmpfs_inode *ino;

	(void)from_path;
	(void)to_path;
	if (from == NULL)
		return -ENOENT;
	if (to != NULL && to->inode == from->inode)
		return 0; /* two names of one file: Linux does nothing */
	if (to != NULL && S_ISDIR(to->inode->mode) && to->inode->entries != NULL)
		return -ENOTEMPTY;
	ino = from->inode;
	/* Allocate first, so failing leaves everything as it was. */
	fresh = dirent_new(to_name, to_len, ino);
	if (fresh == NULL)
		return -ENOMEM;
	if (to != NULL)
		unlink_entry(to_dir->tmp, to_link);
	/* Found again: removing `to` may have moved the link to `from`. */
	from = find(from_dir->tmp, from_name, from_len, &from_link);
	*from_link = from->next;
	kfree(from);
	if (S_ISDIR(ino->mode)) {
		from_dir->tmp->nlink--;
		to_dir->tmp->nlink++;
	}
	attach(to_dir->tmp, fresh);
	ino->ctime = clock_realtime_ns();
	touch(from_dir->tmp);
	return 0;
}

/* ---- open files ---- */

static struct tmpfs_inode *inode_of(struct file *f)
{
	return f->priv;
}

static int64_t tmpfs_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	struct tmpfs_inode *ino = inode_of(f);
	uint64_t done = 0;

	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (off >= ino->size)
		return 0;
	if (len > ino->size - off)
		len = ino->size - off;
	while (done < len) {
		uint64_t pos = off + done, page = pos / PAGE_SIZE, in_page = pos % PAGE_SIZE;
		uint64_t n = PAGE_SIZE - in_page;
		const uint8_t *src = zero_page;

		if (n > len - done)
			n = len - done;
		if (page < ino->nr_slots && ino->pages[page])
			src = phys_to_virt(ino->pages[page]);
		if (uaccess_copy((uint8_t *)buf + done, src + in_page, n) != 0)
			return done ? (int64_t)done : -EFAULT;
		done += n;
	}
	ino->atime = clock_realtime_ns();
	return (int64_t)done;
}

static int grow_slots(struct tmpfs_inode *ino, uint64_t need)
{
	uint64_t n = ino->nr_slots ? ino->nr_slots : 16, *pages;

	if (need <= ino->nr_slots)
		return 0;
	while (n < need)
		n *= 2;
	pages = kzalloc(n * sizeof(*pages));
	if (pages == NULL)
		return -ENOSPC;
	if (ino->nr_slots)
		memcpy(pages, ino->pages, ino->nr_slots * sizeof(*pages));
	kfree(ino->pages);
	ino->pages = pages;
	ino->nr_slots = n;
	return 0;
}

static int64_t tmpfs_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	struct tmpfs_inode *ino = inode_of(f);
	uint64_t done = 0;

	if (len == 0)
		return 0;
	if (off + len < off || off + len > (1ull << 40))
		return -EFBIG;
	if (grow_slots(ino, (off + len + PAGE_SIZE - 1) / PAGE_SIZE) < 0)
		return -ENOSPC;
	while (done < len) {
		uint64_t pos = off + done, page = pos / PAGE_SIZE, in_page = pos % PAGE_SIZE;
		uint64_t n = PAGE_SIZE - in_page;

		if (n > len - done)
			n = len - done;
		if (ino->pages[page] == 0 && (ino->pages[page] = pmem_alloc_zeroed_page()) == 0)
			break;
		if (uaccess_copy((uint8_t *)phys_to_virt(ino->pages[page]) + in_page,
				 (const uint8_t *)buf + done, n) != 0) {
			if (done == 0)
				return -EFAULT;
			break;
		}
		done += n;
		if (off + done > ino->size)
			ino->size = off + done;
	}
	if (done == 0)
		return -ENOSPC;
	f->size = ino->size;
	touch(ino);
	return (int64_t)done;
}

static uint64_t tmpfs_page(struct file *f, uint64_t off)
{
	struct tmpfs_inode *ino = inode_of(f);
	uint64_t page = off / PAGE_SIZE;

	/* Past the end of the file there is no page: SIGBUS, as Linux. */
	if (page >= (ino->size + PAGE_SIZE - 1) / PAGE_SIZE)
		return 0;
	if (grow_slots(ino, page + 1) < 0)
		return 0;
	if (ino->pages[page] == 0)
		ino->pages[page] = pmem_alloc_zeroed_page();
	ino->pages_lent = true;
	return ino->pages[page];
}

static int tmpfs_file_stat(struct file *f, struct stat *st)
{
	inode_stat(inode_of(f), st);
	return 0;
}

static int tmpfs_truncate(struct file *f, uint64_t size)
{
	struct tmpfs_inode *ino = inode_of(f);
	uint64_t keep = (size + PAGE_SIZE - 1) / PAGE_SIZE;

	if (!S_ISREG(ino->mode))
		return -EINVAL;
	if (size > (1ull << 40))
		return -EFBIG;
	if (size < ino->size && ino->pages_lent) {
		for (uint64_t i = size / PAGE_SIZE; i < ino->nr_slots; i++)
			if (ino->pages[i])
				memset((uint8_t *)phys_to_virt(ino->pages[i]) +
					       (i == size / PAGE_SIZE ? size % PAGE_SIZE : 0),
				       0,
				       i == size / PAGE_SIZE ? PAGE_SIZE - size % PAGE_SIZE
							     : PAGE_SIZE);
	} else if (size < ino->size) {
		free_pages_from(ino, keep);
		/* The tail of the last kept page must read back as zeros. */
		if (size % PAGE_SIZE && keep - 1 < ino->nr_slots && ino->pages[keep - 1])
			memset((uint8_t *)phys_to_virt(ino->pages[keep - 1]) + size % PAGE_SIZE, 0,
			       PAGE_SIZE - size % PAGE_SIZE);
	}
	ino->size = size;
	f->size = size;
	touch(ino);
	return 0;
}

static int tmpfs_mmap(struct file *f, uint64_t off, struct mm_backing *out)
{
	struct tmpfs_inode *ino = inode_of(f);

	if (!S_ISREG(ino->mode))
		return -ENODEV;
	*out = (struct mm_backing){
		.kind = VMA_FILE,
		.file = f,
		.file_bytes = off < ino->size ? ino->size - off : 0,
	};
	return 0;
}

static int64_t tmpfs_getdents(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
	struct tmpfs_inode *dir = inode_of(f);
	struct dirent_out o;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir->nlink == 0)
		return -ENOENT; /* removed while open */
	if (dirent_out_init(&o, len) < 0)
		return -ENOMEM;
	if (*pos == 0 && dirent_out_put(&o, dir->ino, 1, dirent_type(S_IFDIR), ".", 1))
		*pos = 1;
	if (*pos == 1 && dirent_out_put(&o, dir->parent->ino, 2, dirent_type(S_IFDIR), "..", 2))
		*pos = 2;
	for (struct tmpfs_dirent *d = dir->entries; d && *pos >= 2; d = d->next) {
		if (d->seq < *pos)
			continue;
		if (!dirent_out_put(&o, d->inode->ino, (int64_t)d->seq + 1,
				    dirent_type(d->inode->mode), d->name, d->len))
			break;
		*pos = d->seq + 1;
	}
	return dirent_out_finish(&o, buf);
}

static void tmpfs_release(struct file *f)
{
	struct tmpfs_inode *ino = inode_of(f);

	ino->open_refs--;
	inode_maybe_free(ino);
}

static const struct file_ops tmpfs_file_ops = {
	.read = tmpfs_read,
	.write = tmpfs_write,
	.stat = tmpfs_file_stat,
	.getdents = tmpfs_getdents,
	.mmap = tmpfs_mmap,
	.page = tmpfs_page,
	.truncate = tmpfs_truncate,
	.release = tmpfs_release,
};

static int tmpfs_open(const struct vnode *n, const char *path, uint32_t flags, struct file **out)
{
	struct tmpfs_inode *ino = n->tmp;
	struct file *f = file_alloc(&tmpfs_file_ops, flags, path);

	if (f == NULL)
		return -ENOMEM;
	f->priv = ino;
	ino->open_refs++;
	if ((flags & O_TRUNC) && S_ISREG(ino->mode) && (flags & O_ACCMODE) != O_RDONLY)
		tmpfs_truncate(f, 0);
	f->size = ino->size;
	*out = f;
	return 0;
}

static int tmpfs_link(const struct vnode *from, const char *from_path, const struct vnode *dir,
		      const char *path, const char *name, size_t len)
{
	(void)from_path;
	(void)path;
	if (find(dir->tmp, name, len, NULL))
		return -EEXIST;
	if (from->tmp->nlink == 0)
		return -ENOENT;
	from->tmp->ctime = clock_realtime_ns();
	return link_into(dir->tmp, name, len, from->tmp);
}

static int tmpfs_chmod(const struct vnode *n, const char *path, uint32_t mode)
{
	(void)path;
	n->tmp->mode = (n->tmp->mode & S_IFMT) | (mode & 07777);
	n->tmp->ctime = clock_realtime_ns();
	return 0;
}

static int tmpfs_set_times(const struct vnode *n, const char *path, uint64_t atime, uint64_t mtime)
{
	(void)path;
	if (atime != VFS_TIME_OMIT)
		n->tmp->atime = atime;
	if (mtime != VFS_TIME_OMIT)
		n->tmp->mtime = mtime;
	n->tmp->ctime = clock_realtime_ns();
	return 0;
}

static const struct vnode_ops tmpfs_vnode_ops = {
	.set_times = tmpfs_set_times,
	.magic = 0x01021994,
	.readonly = false,
	.link = tmpfs_link,
	.chmod = tmpfs_chmod,
	.lookup = tmpfs_lookup,
	.readlink = tmpfs_readlink,
	.stat = tmpfs_stat,
	.open = tmpfs_open,
	.create = tmpfs_create,
	.mkdir = tmpfs_mkdir,
	.unlink = tmpfs_unlink,
	.rmdir = tmpfs_rmdir,
	.rename = tmpfs_rename,
	.symlink = tmpfs_symlink,
};
