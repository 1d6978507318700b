/* SPDX-License-Identifier: MIT */
#include "fs/vfs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/file.h"
#include "fs/imagefs.h"
#include "kernel/kheap.h"
#include "linux/fd.h"
#include "linux/process.h"

/* Linux's limit on symlinks followed in one resolution. */
#define MAX_SYMLINKS 40

int vfs_init(const struct boot_info *bi)
{
	return imagefs_init(bi);
}

/* Where resolution stands: the directory reached and its canonical path
 * (symlink-free, so ".." is textual). */
struct walk {
	struct imagefs_node node;
	char path[PATH_MAX];
	size_t path_len;
	int links;
};

static int walk_from_root(struct walk *w)
{
	imagefs_root(&w->node);
	w->path[0] = '/';
	w->path[1] = '\0';
	w->path_len = 1;
	return 0;
}

static int walk_path(struct walk *w, const char *path, bool follow_last);

/* Re-walks the canonical path (after ".."): cheap, and images have no
 * parent pointers to follow. */
static int walk_reset_to(struct walk *w, const char *canon, size_t len)
{
	char *copy = kmalloc(len + 1);
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, canon, len);
	copy[len] = '\0';
	walk_from_root(w);
	rc = walk_path(w, copy, true);
	kfree(copy);
	return rc;
}

static void path_append(struct walk *w, const char *name, size_t len)
{
	if (w->path_len > 1)
		w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, len);
	w->path_len += len;
	w->path[w->path_len] = '\0';
}

static int step_up(struct walk *w)
{
	char *slash = strrchr(w->path, '/');

	if (w->path_len == 1)
		return 0; /* ".." of / is / */
	if (slash == w->path)
		return walk_from_root(w);
	return walk_reset_to(w, w->path, (size_t)(slash - w->path));
}

/* Buffers on the heap: links nest up to MAX_SYMLINKS deep. */
static int follow_link(struct walk *w, const struct imagefs_node *link)
{
	char *target;
	int64_t len;
	int rc;

	if (++w->links > MAX_SYMLINKS)
		return -ELOOP;
	target = kmalloc(PATH_MAX);
	if (target == NULL)
		return -ENOMEM;
	len = imagefs_readlink(link, target, PATH_MAX);
	if (len < 0) {
		kfree(target);
		return (int)len;
	}
	if (target[0] == '/')
		walk_from_root(w);
	rc = walk_path(w, target, true);
	kfree(target);
	return rc;
}

/* One component: name[0..len). */
static int step(struct walk *w, const char *name, size_t len, bool follow)
{
	struct imagefs_node next;
	int rc;

	if (len == 1 && name[0] == '.')
		return S_ISDIR(w->node.inode.mode) ? 0 : -ENOTDIR;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return step_up(w);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (w->path_len + 1 + len >= PATH_MAX)
		return -ENAMETOOLONG;
	rc = imagefs_lookup(&w->node, name, len, &next);
	if (rc < 0)
		return rc;
	if (S_ISLNK(next.inode.mode) && follow)
		return follow_link(w, &next);
	w->node = next;
	path_append(w, name, len);
	return 0;
}

static bool only_slashes(const char *s)
{
	while (*s == '/')
		s++;
	return *s == '\0';
}

static int walk_path(struct walk *w, const char *path, bool follow_last)
{
	const char *p = path;

	while (*p) {
		const char *end;
		size_t len;
		bool last;
		int rc;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		last = only_slashes(p + len);
		if (!S_ISDIR(w->node.inode.mode))
			return -ENOTDIR;
		rc = step(w, p, len, !last || follow_last || (end != NULL));
		if (rc < 0)
			return rc;
		p += len;
	}
	return 0;
}

/* Where a relative path starts: the cwd or the directory dirfd names. */
static int walk_start(struct walk *w, int dirfd, const char *path)
{
	struct file *dir;
	int rc;

	walk_from_root(w);
	if (path[0] == '/')
		return 0;
	if (dirfd == AT_FDCWD)
		return walk_reset_to(w, current_process()->cwd, strlen(current_process()->cwd));
	dir = fd_get(dirfd);
	if (dir == NULL)
		return -EBADF;
	rc = walk_reset_to(w, dir->path, strlen(dir->path));
	file_put(dir);
	if (rc == 0 && !S_ISDIR(w->node.inode.mode))
		rc = -ENOTDIR;
	return rc;
}

int vfs_resolve(int dirfd, const char *path, bool follow_last, struct imagefs_node *node,
		char *canon)
{
	static struct walk w; /* big: not on the kernel stack */
	int rc;

	if (path[0] == '\0')
		return -ENOENT;
	w.links = 0;
	rc = walk_start(&w, dirfd, path);
	if (rc == 0)
		rc = walk_path(&w, path, follow_last);
	if (rc < 0)
		return rc;
	/* "dir/" names a directory. */
	if (path[strlen(path) - 1] == '/' && !S_ISDIR(w.node.inode.mode))
		return -ENOTDIR;
	*node = w.node;
	if (canon)
		memcpy(canon, w.path, w.path_len + 1);
	return 0;
}

int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode, struct file **out)
{
	struct imagefs_node node;
	char canon[PATH_MAX];
	int rc;

	(void)mode;
	rc = vfs_resolve(dirfd, path, !(flags & O_NOFOLLOW), &node, canon);
	if (rc == -ENOENT && (flags & O_CREAT))
		return -EROFS;
	if (rc < 0)
		return rc;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (S_ISLNK(node.inode.mode))
		return -ELOOP; /* O_NOFOLLOW on a symlink */
	if (S_ISDIR(node.inode.mode) && (flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	return imagefs_open(&node, flags, canon, out);
}
