/* SPDX-License-Identifier: MIT */
/*
 * The guest's file namespace over a hostile image, compiled for the host
 * with the guest's own headers: the EROFS reader (guest-runtime/fs/erofs.c),
 * the union of images (fs/imagefs.c), the VFS path walk (fs/vfs.c) and,
 * for what a program may change, a tmpfs (fs/tmpfs.c) at /tmp.
 *
 * Input: a flags byte, then paths separated by '\n' up to the first NUL,
 * then the image (copied to a heap block of its exact size, so ASan sees
 * any read past it).  The harness mounts the image (as one image, or as
 * two images of a union) at /, the tmpfs at /tmp, the union again at /u
 * and, when the flags say so, at the first path; walks the whole tree
 * with the reader (every directory listed, every name looked up, every
 * file read, every block's offset); opens and uses what the root holds
 * through the VFS; and resolves, stats, reads, writes, opens, lists,
 * maps and changes (mkdir, rename both ways, link, symlink, chmod, times,
 * then unlink and rmdir) each path, relative to the cwd (/ or /tmp, or
 * each directory a path names, in turn) or to a directory descriptor.
 *
 * Checked besides memory safety: a resolved path is canonical; a block
 * offset and an mmap of the image lie inside the image; reads are never
 * longer than asked.
 *
 * vfs.c and imagefs.c are included here rather than linked: their state
 * (mounts, images, the lookup cache) is static and must start afresh for
 * each input.  The tmpfs is made once and emptied after each input.
 */
#include "fs/imagefs.c"
#include "fs/vfs.c"

#include "fs/erofs.h"
#include "fuzz_guest_kernel.h"
#include "fuzz_input.h"
#include "linux/dirent.h"
#include "linux/process.h"
#include <stdio.h>

#define MAX_PATHS  32
#define MAX_NODES  256 /* inodes the reader's walk visits */
#define MAX_LISTED 64  /* entries of a directory the reader's walk looks at */
#define VFS_LISTED 16  /* and the VFS walk of the root */
#define READ_MAX   (64 * 1024)
#define IMAGE_GPA  0x40000000ull /* images.gpa[i] = IMAGE_GPA * (i + 1) */

enum {
	TWO_IMAGES = 1,	 /* the image twice: a union of two */
	MOUNT_FIRST = 2, /* the union mounted again at the first path */
	CWD_TMP = 4,	 /* relative paths from /tmp, else / */
	DIRFD = 8,	 /* relative paths from descriptor 3 (/tmp) */
	FOLLOW = 16,	 /* follow a symlink in the last component */
	CHANGES = 32,	 /* try every change */
	CHDIR = 64,	 /* each path that is a directory becomes the cwd */
	REMOVE = 128,	 /* and then goes (unlink, rmdir) */
};

static struct percpu cpu;
static struct thread thread;
static struct process proc;
static struct file tmp_dir; /* descriptor 3 */
static struct vnode tmp_root;
static uint8_t scratch[READ_MAX];

/* ---- the rest of the kernel, as far as these files need it ---- */

struct file *file_alloc(const struct file_ops *ops, uint32_t flags, const char *path)
{
	struct file *f = kzalloc(sizeof(*f));
	size_t len = strlen(path);

	if (f == NULL || (f->path = kmalloc(len + 1)) == NULL) {
		kfree(f);
		return NULL;
	}
	memcpy(f->path, path, len + 1);
	f->refs = 1;
	f->ops = ops;
	f->flags = flags;
	return f;
}

void file_get(struct file *f)
{
	f->refs++;
}

void file_put(struct file *f)
{
	if (--f->refs > 0 || f == &tmp_dir)
		return;
	if (f->ops->release != NULL)
		f->ops->release(f);
	kfree(f->path);
	kfree(f);
}

struct file *fd_get(int fd)
{
	if (fd != 3)
		return NULL;
	file_get(&tmp_dir);
	return &tmp_dir;
}

uint64_t uaccess_copy(void *dst, const void *src, uint64_t n)
{
	memcpy(dst, src, n);
	return 0;
}

/* Only vfs_init() (not used here) mounts these. */
void devfs_root(struct vnode *out)
{
	(void)out;
	panic("devfs_root");
}

void procfs_root(struct vnode *out)
{
	(void)out;
	panic("procfs_root");
}

int hostfs_init(const struct boot_info *bi)
{
	(void)bi;
	panic("hostfs_init");
}

void hostfs_root(unsigned int i, struct vnode *out)
{
	(void)i;
	(void)out;
	panic("hostfs_root");
}

bool hostfs_owns(const struct vnode *n)
{
	(void)n;
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cpu.self = &cpu;
	cpu.current = &thread;
	thread.proc = &proc;
	fuzz_guest_set_gs(&cpu);
	tmp_dir.refs = 1;
	tmp_dir.path = "/tmp";
	if (tmpfs_new(&tmp_root) < 0)
		fuzz_fail("tmpfs_new");
	return 0;
}

/* ---- the reader alone ---- */

struct walk_queue {
	uint64_t nids[MAX_NODES];
	unsigned int n;
};

static void enqueue(struct walk_queue *q, uint64_t nid)
{
	for (unsigned int i = 0; i < q->n; i++)
		if (q->nids[i] == nid)
			return;
	if (q->n < MAX_NODES)
		q->nids[q->n++] = nid;
}

struct listing {
	const struct erofs *fs;
	const struct erofs_inode *dir;
	struct walk_queue *queue;
	unsigned int entries;
};

static int reader_entry(void *ctx, const char *name, size_t namelen, uint64_t nid,
			unsigned int d_type, uint64_t next)
{
	struct listing *l = ctx;
	uint64_t found;

	(void)d_type;
	(void)next;
	if (l->entries++ >= MAX_LISTED)
		return 1;
	erofs_lookup(l->fs, l->dir, name, namelen, &found);
	enqueue(l->queue, nid);
	return 0;
}

static void read_file(const struct erofs *fs, const struct erofs_inode *ino)
{
	uint64_t offs[] = {0, ino->size > 100 ? ino->size - 100 : 0, 4096, ino->size};

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		int64_t got = erofs_read(fs, ino, offs[i], scratch, sizeof(scratch));

		if (got > (int64_t)sizeof(scratch))
			fuzz_fail("erofs_read returned more than asked");
	}
	for (uint64_t off = 0; off < ino->size && off < 64 * 4096; off += 4096) {
		int64_t at = erofs_page_offset(fs, ino, off);

		if (at >= 0 && ((uint64_t)at > fs->size || fs->size - (uint64_t)at < 4096))
			fuzz_fail("erofs_page_offset: a block not inside the image");
	}
}

static void reader_walk(const struct erofs *fs)
{
	static struct walk_queue queue;

	queue.n = 0;
	enqueue(&queue, fs->root_nid);
	for (unsigned int i = 0; i < queue.n; i++) {
		struct erofs_inode ino;
		uint64_t cookie = 0;

		if (erofs_read_inode(fs, queue.nids[i], &ino) < 0)
			continue;
		if (S_ISDIR(ino.mode)) {
			struct listing l = {fs, &ino, &queue, 0};
			uint64_t nid;

			erofs_readdir(fs, &ino, &cookie, reader_entry, &l);
			erofs_lookup(fs, &ino, "zzz-not-there", 13, &nid);
		} else {
			read_file(fs, &ino);
		}
	}
}

/* ---- through the VFS ---- */

static void check_mmap(struct file *f)
{
	const struct imagefs_node *n = f->priv;
	const struct erofs *fs = &images.fs[n->image];

	for (uint64_t off = 0; off <= n->inode.size && off < 4 * 4096; off += 4096) {
		struct mm_backing b;
		uint64_t at;

		if (f->ops->mmap(f, off, &b) < 0 || b.kind != VMA_IMAGE)
			continue;
		at = b.image_phys - images.gpa[n->image];
		/* Every page the mapping may show is a whole block of the image. */
		if (at % 4096 || at > fs->size || b.file_bytes > fs->size - at ||
		    page_up(b.file_bytes) > fs->size - at || page_up(b.file_bytes) < b.file_bytes)
			fuzz_fail("imagefs mmap: image pages past the image");
	}
}

/* Opens path and uses the file every way the system calls would. */
static void use_file(int dirfd, const char *path, uint32_t flags)
{
	struct file *f;
	struct stat st;

	if (vfs_open(dirfd, path, flags, 0644, &f) < 0)
		return;
	f->ops->stat(f, &st);
	if ((flags & O_ACCMODE) != O_RDONLY && f->ops->write != NULL) {
		f->ops->write(f, scratch, 100, f->size);
		f->ops->write(f, scratch, 10, 5000);
	}
	if ((flags & O_ACCMODE) != O_RDONLY && f->ops->truncate != NULL)
		f->ops->truncate(f, f->size / 2);
	if (f->ops->read != NULL) {
		int64_t got = f->ops->read(f, scratch, sizeof(scratch), 0);

		if (got > (int64_t)sizeof(scratch))
			fuzz_fail("a read returned more than asked");
		f->ops->read(f, scratch, 100, f->size > 50 ? f->size - 50 : 0);
	}
	if (f->ops->getdents != NULL) {
		uint64_t pos = 0;

		for (int i = 0; i < 64 && f->ops->getdents(f, scratch, 4096, &pos) > 0; i++)
			;
		pos = 0;
		f->ops->getdents(f, scratch, 24, &pos); /* not even one record fits */
	}
	if (f->ops == &imagefs_ops)
		check_mmap(f);
	file_put(f);
}

/* Every way of looking up a path, and every change (all refused). */
static void use_path(int dirfd, const char *path, unsigned int flags)
{
	char canon[PATH_MAX];
	struct vnode node;
	struct stat st;
	int64_t n;

	if (vfs_resolve(dirfd, path, flags & FOLLOW, &node, canon) == 0 &&
	    (!is_canonical(canon) || strlen(canon) >= PATH_MAX))
		fuzz_fail("vfs_resolve: a path that is not canonical");
	vfs_stat(dirfd, path, flags & FOLLOW, &st);
	n = vfs_readlink(dirfd, path, (char *)scratch, PATH_MAX);
	if (n >= PATH_MAX)
		fuzz_fail("vfs_readlink: longer than its buffer");
	vfs_readlink(dirfd, path, (char *)scratch, 8);
	use_file(dirfd, path, O_RDONLY | (flags & FOLLOW ? 0 : O_NOFOLLOW));
	use_file(dirfd, path, O_RDONLY | O_DIRECTORY);
	if (flags & CHANGES) {
		vfs_mkdir(dirfd, path, 0755);
		vfs_rename(dirfd, path, AT_FDCWD, "/tmp/x", 0);
		vfs_rename(AT_FDCWD, "/tmp/x", dirfd, path, RENAME_NOREPLACE);
		vfs_rename(AT_FDCWD, "/", dirfd, path, 0);
		vfs_link(dirfd, path, AT_FDCWD, "/tmp/l", flags & FOLLOW);
		vfs_symlink(path, AT_FDCWD, "/tmp/s");
		vfs_chmod(dirfd, path, 0700, flags & FOLLOW);
		vfs_set_times(dirfd, path, flags & FOLLOW, 0, VFS_TIME_OMIT);
		vfs_unlink(AT_FDCWD, "/tmp/l");
		vfs_unlink(AT_FDCWD, "/tmp/s");
	}
	use_file(dirfd, path, O_RDWR | O_CREAT);
	if ((flags & CHDIR) && vfs_resolve(dirfd, path, true, &node, canon) == 0 &&
	    S_ISDIR(node.mode))
		memcpy(proc.cwd, canon, strlen(canon) + 1);
	if (flags & REMOVE) {
		vfs_symlink("/tmp/x", dirfd, path);
		vfs_unlink(dirfd, path);
		vfs_rmdir(dirfd, path);
	}
}

struct vfs_listing {
	char dir[PATH_MAX];
	unsigned int entries;
};

static int vfs_entry(void *ctx, const char *name, size_t namelen, uint64_t nid, unsigned int d_type,
		     uint64_t next)
{
	struct vfs_listing *l = ctx;
	size_t dlen = strlen(l->dir);
	struct stat st;

	(void)nid;
	(void)d_type;
	(void)next;
	if (l->entries++ >= VFS_LISTED || dlen + namelen >= PATH_MAX ||
	    memchr(name, '\0', namelen) != NULL)
		return 1;
	memcpy(l->dir + dlen, name, namelen);
	l->dir[dlen + namelen] = '\0';
	vfs_stat(AT_FDCWD, l->dir, false, &st);
	use_file(AT_FDCWD, l->dir, O_RDONLY);
	l->dir[dlen] = '\0';
	return 0;
}

/* What the root holds, as the reader lists it for the first image, each
 * name then stat'ed, opened and used through the VFS. */
static void vfs_walk_root(void)
{
	struct vfs_listing *l = kmalloc(sizeof(*l));
	struct erofs_inode ino;
	uint64_t cookie = 0;

	if (l != NULL && erofs_read_inode(&images.fs[0], images.fs[0].root_nid, &ino) == 0) {
		memcpy(l->dir, "/", 2);
		l->entries = 0;
		erofs_readdir(&images.fs[0], &ino, &cookie, vfs_entry, l);
	}
	kfree(l);
}

/* ---- one input ---- */

/* The first entry of directory dir but "." and "..", into name. */
static bool first_entry(const char *dir, char *name)
{
	struct file *f;
	uint64_t pos = 0;
	int64_t n;

	if (vfs_open(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, &f) < 0)
		return false;
	while ((n = f->ops->getdents(f, scratch, sizeof(scratch), &pos)) > 0)
		for (int64_t at = 0; at < n;) {
			const struct linux_dirent64 *d = (const void *)(scratch + at);

			at += d->d_reclen;
			if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) {
				memcpy(name, d->d_name, strlen(d->d_name) + 1);
				file_put(f);
				return true;
			}
		}
	file_put(f);
	return false;
}

/* Empties the tmpfs for the next input, through the VFS with the tmpfs
 * as the root: each entry goes, or (a directory with entries) first gives
 * them to the root, where their paths are short whatever depth they had. */
static void empty_tmpfs(void)
{
	static unsigned int moved;
	char *name = kmalloc(NAME_MAX + 1), *child = kmalloc(NAME_MAX + 1);
	char *from = kmalloc(PATH_MAX), *to = kmalloc(PATH_MAX);

	ns.root = tmp_root;
	while (first_entry("/", name)) {
		snprintf(from, PATH_MAX, "/%s", name);
		if (vfs_unlink(AT_FDCWD, from) == 0 || vfs_rmdir(AT_FDCWD, from) == 0)
			continue;
		if (!first_entry(from, child))
			fuzz_fail("the tmpfs cannot be emptied");
		snprintf(from, PATH_MAX, "/%s/%s", name, child);
		snprintf(to, PATH_MAX, "/moved-%u", moved++);
		if (vfs_rename(AT_FDCWD, from, AT_FDCWD, to, 0) < 0)
			fuzz_fail("the tmpfs cannot be emptied");
	}
	kfree(name);
	kfree(child);
	kfree(from);
	kfree(to);
}

static void reset(void)
{
	for (unsigned int i = 0; i < ns.nr_mounts; i++)
		kfree(ns.mounts[i].path);
	memset(&ns, 0, sizeof(ns));
	ns.next_fs_id = 1;
	memset(&images, 0, sizeof(images));
	memset(lookup_cache, 0, sizeof(lookup_cache));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint8_t flags = fuzz_u8(&in);
	const uint8_t *end = memchr(in.data, '\0', in.size), *paths;
	size_t paths_len = end ? (size_t)(end - in.data) : in.size, image_size;
	uint8_t *image;
	struct vnode root;
	char *path = kmalloc(PATH_MAX);

	fuzz_take(&in, paths_len, &paths);
	fuzz_take(&in, 1, &end); /* the NUL */
	image_size = in.size;
	image = kmalloc(image_size ? image_size : 1);
	memcpy(image, in.data, image_size);
	reset();
	if (erofs_mount(&images.fs[0], image, image_size) < 0)
		goto out;
	images.fs[1] = images.fs[0];
	images.n = flags & TWO_IMAGES ? 2 : 1;
	for (unsigned int i = 0; i < images.n; i++)
		images.gpa[i] = IMAGE_GPA * (i + 1);
	reader_walk(&images.fs[0]);
	imagefs_root(&ns.root);
	memcpy(proc.cwd, flags & CWD_TMP ? "/tmp" : "/", flags & CWD_TMP ? 5 : 2);
	imagefs_root(&root);
	vfs_mount("/tmp", &tmp_root);
	vfs_mount("/u", &root);
	vfs_walk_root();
	for (unsigned int i = 0; i < MAX_PATHS && paths_len > 0; i++) {
		const uint8_t *nl = memchr(paths, '\n', paths_len);
		size_t len = nl ? (size_t)(nl - paths) : paths_len;

		if (len < PATH_MAX) {
			memcpy(path, paths, len);
			path[len] = '\0';
			if (i == 0 && (flags & MOUNT_FIRST))
				vfs_mount(path, &root);
			use_path(flags & DIRFD ? 3 : AT_FDCWD, path, flags);
		}
		paths += nl ? len + 1 : len;
		paths_len -= nl ? len + 1 : len;
	}
out:
	reset();
	empty_tmpfs(); /* the next input's reset() drops it from the root */
	kfree(image);
	kfree(path);
	return 0;
}
