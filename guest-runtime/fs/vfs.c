/* SPDX-License-Identifier: MIT */
#include "fs/vfs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/magic.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/devfs.h"
#include "fs/file.h"
#include "fs/hostfs.h"
#include "fs/imagefs.h"
#include "fs/procfs.h"
#include "fs/tmpfs.h"
#include "kernel/kheap.h"
#include "kernel/printk.h"
#include "linux/fd.h"
#include "linux/process.h"

/* Linux's limit on symlinks followed in one resolution. */
#define MAX_SYMLINKS 40
#define MAX_MOUNTS   24

/* A mount point, split so a step can match it without building paths:
 * the parent's canonical path is path[0..parent_len), the name follows. */
struct mount {
	char *path;
	size_t parent_len;
	const char *name;
	size_t name_len;
	struct vnode root;
};

static struct {
	struct vnode root;
	struct mount mounts[MAX_MOUNTS];
	unsigned int nr_mounts;
	unsigned int next_fs_id;
} ns = {.next_fs_id = 1};

unsigned int vfs_new_fs_id(void)
{
	return ns.next_fs_id++;
}

/* True if path is "/" or absolute with no empty, "." or ".." parts. */
static bool is_canonical(const char *path)
{
	const char *p = path;

	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	while (*p == '/') {
		const char *name = ++p;

		while (*p && *p != '/')
			p++;
		if (p == name || (p - name == 1 && name[0] == '.') ||
		    (p - name == 2 && name[0] == '.' && name[1] == '.'))
			return false;
	}
	return *p == '\0';
}

int vfs_mount(const char *path, const struct vnode *root)
{
	struct mount *m;
	size_t len = strlen(path);
	const char *slash;

	if (!is_canonical(path) || len == 1 || len >= PATH_MAX)
		return -EINVAL;
	if (ns.nr_mounts == MAX_MOUNTS)
		return -ENOSPC;
	m = &ns.mounts[ns.nr_mounts];
	m->path = kmalloc(len + 1);
	if (m->path == NULL)
		return -ENOMEM;
	memcpy(m->path, path, len + 1);
	slash = strrchr(m->path, '/');
	m->parent_len = slash == m->path ? 1 : (size_t)(slash - m->path);
	m->name = slash + 1;
	m->name_len = len - (size_t)(m->name - m->path);
	m->root = *root;
	ns.nr_mounts++;
	return 0;
}

/* The mount covering the exact path, or NULL. */
static const struct mount *mount_exact(const char *path)
{
	for (unsigned int i = 0; i < ns.nr_mounts; i++)
		if (strcmp(ns.mounts[i].path, path) == 0)
			return &ns.mounts[i];
	return NULL;
}

/* Where resolution stands: the node reached and its canonical path. */
struct walk {
	struct vnode node;
	char path[PATH_MAX];
	size_t path_len;
	int links;
};

/* The mount whose point is name[0..len) inside the directory walked to. */
static const struct mount *mount_at(const struct walk *w, const char *name, size_t len)
{
	for (unsigned int i = 0; i < ns.nr_mounts; i++) {
		const struct mount *m = &ns.mounts[i];

		if (m->name_len == len && memcmp(m->name, name, len) == 0 &&
		    m->parent_len == w->path_len && memcmp(m->path, w->path, w->path_len) == 0)
			return m;
	}
	return NULL;
}

static void walk_from_root(struct walk *w)
{
	w->node = ns.root;
	w->path[0] = '/';
	w->path[1] = '\0';
	w->path_len = 1;
}

static int walk_path(struct walk *w, const char *path, bool follow_last);

/* Re-walks a canonical path (after "..", or from a descriptor's path):
 * filesystems keep no parent pointers to follow. */
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

static void path_truncate(struct walk *w, size_t len)
{
	w->path_len = len;
	w->path[len] = '\0';
}

static int step_up(struct walk *w)
{
	char *slash = strrchr(w->path, '/');

	if (w->path_len == 1)
		return 0; /* ".." of / is / */
	if (slash == w->path) {
		walk_from_root(w);
		return 0;
	}
	return walk_reset_to(w, w->path, (size_t)(slash - w->path));
}

/* Follows the symlink `link`, named name[0..len) in the directory w is
 * at.  Buffers live on the heap: links nest up to MAX_SYMLINKS deep. */
static int follow_link(struct walk *w, const struct vnode *link, const char *name, size_t len)
{
	size_t dir_len = w->path_len;
	char *target;
	int64_t n;
	int rc;

	if (++w->links > MAX_SYMLINKS)
		return -ELOOP;
	target = kmalloc(PATH_MAX);
	if (target == NULL)
		return -ENOMEM;
	path_append(w, name, len);
	n = link->ops->readlink(link, w->path, target, PATH_MAX);
	path_truncate(w, dir_len);
	if (n < 0) {
		kfree(target);
		return (int)n;
	}
	if (target[0] == '/')
		walk_from_root(w);
	rc = target[0] ? walk_path(w, target, true) : -ENOENT;
	kfree(target);
	return rc;
}

/* The entry name[0..len) of the directory w is at, mounts first. */
static int lookup_child(const struct walk *w, const char *name, size_t len, struct vnode *out)
{
	const struct mount *m = mount_at(w, name, len);

	if (m != NULL) {
		*out = m->root;
		return 0;
	}
	return w->node.ops->lookup(&w->node, w->path, name, len, out);
}

static bool is_dot(const char *name, size_t len)
{
	return len == 1 && name[0] == '.';
}

static bool is_dotdot(const char *name, size_t len)
{
	return len == 2 && name[0] == '.' && name[1] == '.';
}

/* One component: name[0..len). */
static int step(struct walk *w, const char *name, size_t len, bool follow)
{
	struct vnode next;
	int rc;

	if (is_dot(name, len))
		return 0;
	if (is_dotdot(name, len))
		return step_up(w);
	if (len > NAME_MAX || w->path_len + 1 + len >= PATH_MAX)
		return -ENAMETOOLONG;
	rc = lookup_child(w, name, len, &next);
	if (rc < 0)
		return rc;
	if (S_ISLNK(next.mode) && follow) {
		struct vnode target;

		if (next.ops->follow_magic == NULL || next.ops->follow_magic(&next, &target) < 0)
			return follow_link(w, &next, name, len);
		next = target;
	}
	w->node = next;
	path_append(w, name, len);
	return 0;
}

static int walk_path(struct walk *w, const char *path, bool follow_last)
{
	const char *p = path;

	while (*p) {
		const char *end;
		size_t len;
		int rc;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (!S_ISDIR(w->node.mode))
			return -ENOTDIR;
		/* "name/" follows a symlink even for lstat, as on Linux. */
		rc = step(w, p, len, follow_last || end != NULL);
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

	w->links = 0;
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
	if (rc == 0 && !S_ISDIR(w->node.mode))
		rc = -ENOTDIR;
	return rc;
}

static int resolve(struct walk *w, int dirfd, const char *path, bool follow_last)
{
	int rc;

	if (path[0] == '\0')
		return -ENOENT;
	rc = walk_start(w, dirfd, path);
	if (rc == 0)
		rc = walk_path(w, path, follow_last);
	if (rc == 0 && path[strlen(path) - 1] == '/' && !S_ISDIR(w->node.mode))
		rc = -ENOTDIR; /* "file/" */
	return rc;
}

/* Walks to the directory that would hold path's last component, which
 * *name (inside path) and *len then name. */
static int resolve_parent(struct walk *w, int dirfd, char *path, const char **name, size_t *len)
{
	size_t n = strlen(path);
	char *last, saved;
	int rc;

	if (n == 0)
		return -ENOENT;
	while (n > 1 && path[n - 1] == '/')
		n--;
	last = path + n;
	while (last > path && last[-1] != '/')
		last--;
	*name = last;
	*len = (size_t)(path + n - last);
	if (*len == 0)
		return -EBUSY; /* "/" itself */
	if (*len > NAME_MAX)
		return -ENAMETOOLONG;
	saved = *last;
	*last = '\0';
	rc = walk_start(w, dirfd, path);
	if (rc == 0)
		rc = walk_path(w, path, true);
	*last = saved;
	if (rc == 0 && !S_ISDIR(w->node.mode))
		rc = -ENOTDIR;
	return rc;
}

static struct walk *walk_alloc(void)
{
	return kmalloc(sizeof(struct walk));
}

int vfs_resolve(int dirfd, const char *path, bool follow_last, struct vnode *node, char *canon)
{
	struct walk *w = walk_alloc();
	int rc;

	if (w == NULL)
		return -ENOMEM;
	rc = resolve(w, dirfd, path, follow_last);
	if (rc == 0) {
		*node = w->node;
		if (canon)
			memcpy(canon, w->path, w->path_len + 1);
	}
	kfree(w);
	return rc;
}

int vfs_stat(int dirfd, const char *path, bool follow_last, struct stat *st)
{
	struct walk *w = walk_alloc();
	int rc;

	if (w == NULL)
		return -ENOMEM;
	rc = resolve(w, dirfd, path, follow_last);
	if (rc == 0)
		rc = w->node.ops->stat(&w->node, w->path, st);
	kfree(w);
	return rc;
}

int64_t vfs_readlink(int dirfd, const char *path, char *buf, uint64_t size)
{
	struct walk *w = walk_alloc();
	int64_t rc;

	if (w == NULL)
		return -ENOMEM;
	rc = resolve(w, dirfd, path, false);
	if (rc == 0)
		rc = S_ISLNK(w->node.mode) ? w->node.ops->readlink(&w->node, w->path, buf, size)
					   : -EINVAL;
	kfree(w);
	return rc;
}

static int open_node(struct walk *w, uint32_t flags, struct file **out)
{
	if (S_ISLNK(w->node.mode))
		return -ELOOP; /* O_NOFOLLOW on a symlink */
	if (S_ISDIR(w->node.mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)))
		return -EISDIR;
	if ((flags & O_DIRECTORY) && !S_ISDIR(w->node.mode))
		return -ENOTDIR;
	return w->node.ops->open(&w->node, w->path, flags, out);
}

/* Creates name[0..len) in the directory w is at and opens it. */
static int create_in(struct walk *w, const char *name, size_t len, uint32_t flags, uint32_t mode,
		     struct file **out)
{
	const struct vnode_ops *ops = w->node.ops;
	struct vnode node;
	int rc;

	if (ops->create == NULL)
		return -EROFS;
	if (ops->create_open) {
		path_append(w, name, len);
		return ops->create_open(&w->node, w->path, S_IFREG | (mode & 07777), flags, out);
	}
	rc = ops->create(&w->node, w->path, name, len, S_IFREG | (mode & 07777), &node);
	if (rc == 0) {
		path_append(w, name, len);
		w->node = node;
		rc = w->node.ops->open(&w->node, w->path, flags & ~(uint32_t)O_TRUNC, out);
	}
	return rc;
}

/* O_CREAT of a name that does not exist yet.  A dangling symlink in the
 * last place is followed: its target is what gets created, as on Linux. */
static int create_and_open(struct walk *w, int dirfd, const char *path, uint32_t flags,
			   uint32_t mode, struct file **out)
{
	char *copy = kmalloc(PATH_MAX), *target = kmalloc(PATH_MAX);
	int rc = copy && target ? 0 : -ENOMEM;

	if (rc == 0)
		memcpy(copy, path, strlen(path) + 1);
	for (int links = 0; rc == 0; links++) {
		struct vnode child;
		const char *name;
		size_t len, dir_len;
		int64_t n;

		rc = resolve_parent(w, dirfd, copy, &name, &len);
		if (rc == 0 &&
		    (is_dot(name, len) || is_dotdot(name, len) || copy[strlen(copy) - 1] == '/'))
			rc = -EISDIR;
		if (rc < 0)
			break;
		if (lookup_child(w, name, len, &child) < 0 || !S_ISLNK(child.mode)) {
			rc = create_in(w, name, len, flags, mode, out);
			break;
		}
		if ((flags & O_EXCL) || links == MAX_SYMLINKS) {
			rc = links == MAX_SYMLINKS ? -ELOOP : -EEXIST;
			break;
		}
		/* Its target, relative to the link's directory. */
		dir_len = w->path_len;
		path_append(w, name, len);
		n = child.ops->readlink(&child, w->path, target, PATH_MAX);
		path_truncate(w, dir_len);
		if (n < 0 || (target[0] != '/' && w->path_len + 1 + (size_t)n >= PATH_MAX)) {
			rc = n < 0 ? (int)n : -ENAMETOOLONG;
			break;
		}
		if (target[0] == '/') {
			memcpy(copy, target, (size_t)n + 1);
		} else {
			memcpy(copy, w->path, w->path_len);
			copy[w->path_len] = '/';
			memcpy(copy + w->path_len + 1, target, (size_t)n + 1);
		}
		dirfd = AT_FDCWD;
	}
	kfree(copy);
	kfree(target);
	return rc;
}

int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode, struct file **out)
{
	struct walk *w = walk_alloc();
	int rc;

	if (w == NULL)
		return -ENOMEM;
	rc = resolve(w, dirfd, path, !(flags & O_NOFOLLOW));
	if (rc == -ENOENT && (flags & O_CREAT))
		rc = create_and_open(w, dirfd, path, flags, mode, out);
	else if (rc == 0 && (flags & O_CREAT) && (flags & O_EXCL))
		rc = -EEXIST;
	else if (rc == 0)
		rc = open_node(w, flags, out);
	kfree(w);
	return rc;
}

/* ---- changes to the namespace ---- */

/* The parent directory of path and the last name, for a change. */
struct target {
	struct walk w;
	char path[PATH_MAX];
	const char *name;
	size_t len;
	struct vnode child; /* valid when exists */
	bool exists, is_mount;
	bool dir_only; /* "name/": only a directory may be meant */
};

static int target_resolve(struct target *t, int dirfd, const char *path)
{
	size_t n = strlen(path);
	int rc;

	memcpy(t->path, path, n + 1);
	t->dir_only = n > 1 && path[n - 1] == '/';
	rc = resolve_parent(&t->w, dirfd, t->path, &t->name, &t->len);
	if (rc < 0)
		return rc;
	t->is_mount = mount_at(&t->w, t->name, t->len) != NULL;
	if (is_dot(t->name, t->len) || is_dotdot(t->name, t->len)) {
		t->exists = true;
		return 0;
	}
	rc = lookup_child(&t->w, t->name, t->len, &t->child);
	t->exists = rc == 0;
	return rc == -ENOENT ? 0 : rc;
}

static struct target *target_alloc(int dirfd, const char *path, int *rc)
{
	struct target *t = kmalloc(sizeof(*t));

	if (t == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = target_resolve(t, dirfd, path);
	if (*rc < 0) {
		kfree(t);
		return NULL;
	}
	return t;
}

int vfs_mkdir(int dirfd, const char *path, uint32_t mode)
{
	int rc;
	struct target *t = target_alloc(dirfd, path, &rc);

	if (t == NULL)
		return rc;
	if (t->exists || t->is_mount)
		rc = -EEXIST;
	else if (t->w.node.ops->mkdir == NULL)
		rc = -EROFS;
	else
		rc = t->w.node.ops->mkdir(&t->w.node, t->w.path, t->name, t->len, mode & 07777);
	kfree(t);
	return rc;
}

int vfs_unlink(int dirfd, const char *path)
{
	int rc;
	struct target *t = target_alloc(dirfd, path, &rc);

	if (t == NULL)
		return rc;
	if (!t->exists)
		rc = -ENOENT;
	else if (t->is_mount || is_dot(t->name, t->len) || is_dotdot(t->name, t->len) ||
		 S_ISDIR(t->child.mode))
		rc = -EISDIR;
	else if (t->dir_only)
		rc = -ENOTDIR;
	else if (t->w.node.ops->unlink == NULL)
		rc = -EROFS;
	else
		rc = t->w.node.ops->unlink(&t->w.node, t->w.path, t->name, t->len);
	kfree(t);
	return rc;
}

int vfs_rmdir(int dirfd, const char *path)
{
	int rc;
	struct target *t = target_alloc(dirfd, path, &rc);

	if (t == NULL)
		return rc;
	if (is_dot(t->name, t->len))
		rc = -EINVAL;
	else if (is_dotdot(t->name, t->len))
		rc = -ENOTEMPTY;
	else if (!t->exists)
		rc = -ENOENT;
	else if (t->is_mount)
		rc = -EBUSY;
	else if (!S_ISDIR(t->child.mode))
		rc = -ENOTDIR;
	else if (t->w.node.ops->rmdir == NULL)
		rc = -EROFS;
	else
		rc = t->w.node.ops->rmdir(&t->w.node, t->w.path, t->name, t->len);
	kfree(t);
	return rc;
}

/* True if the canonical path b lies inside directory a (or is a). */
static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/' || n == 1);
}

static int rename_checked(struct target *from, struct target *to)
{
	char *from_full = kmalloc(PATH_MAX), *to_full = kmalloc(PATH_MAX);
	struct walk *fw = &from->w;
	size_t fl = fw->path_len, tl = to->w.path_len;
	int rc = 0;

	if (from_full == NULL || to_full == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* A name in a directory whose path is already near PATH_MAX long
	 * (mkdir makes such names; no path reaches them) has no full path. */
	if (fl + 1 + from->len >= PATH_MAX || tl + 1 + to->len >= PATH_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	path_append(fw, from->name, from->len);
	memcpy(from_full, fw->path, fw->path_len + 1);
	path_truncate(fw, fl);
	path_append(&to->w, to->name, to->len);
	memcpy(to_full, to->w.path, to->w.path_len + 1);
	path_truncate(&to->w, tl);
	if (strcmp(from_full, to_full) == 0)
		goto out; /* the same name: nothing to do */
	if (S_ISDIR(from->child.mode) && path_within(from_full, to_full))
		rc = -EINVAL; /* a directory into itself */
	else if (to->exists && S_ISDIR(to->child.mode) && !S_ISDIR(from->child.mode))
		rc = -EISDIR;
	else if (to->exists && !S_ISDIR(to->child.mode) && S_ISDIR(from->child.mode))
		rc = -ENOTDIR;
	else
		rc = fw->node.ops->rename(&fw->node, fw->path, from->name, from->len, &to->w.node,
					  to->w.path, to->name, to->len);
out:
	kfree(from_full);
	kfree(to_full);
	return rc;
}

int vfs_rename(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned int flags)
{
	struct target *f = NULL, *t = NULL;
	int rc;

	if (flags & ~(unsigned int)RENAME_NOREPLACE)
		return -EINVAL;
	f = target_alloc(from_dirfd, from, &rc);
	if (f != NULL)
		t = target_alloc(to_dirfd, to, &rc);
	if (t == NULL)
		goto out;
	if (!f->exists)
		rc = -ENOENT;
	else if ((f->dir_only || t->dir_only) && !S_ISDIR(f->child.mode))
		rc = -ENOTDIR;
	else if (is_dot(f->name, f->len) || is_dotdot(f->name, f->len) || is_dot(t->name, t->len) ||
		 is_dotdot(t->name, t->len))
		rc = -EBUSY;
	else if (f->is_mount || t->is_mount)
		rc = -EBUSY;
	else if ((flags & RENAME_NOREPLACE) && t->exists)
		rc = -EEXIST;
	else if (f->w.node.fs_id != t->w.node.fs_id)
		rc = -EXDEV;
	else if (f->w.node.ops->rename == NULL)
		rc = -EROFS;
	else
		rc = rename_checked(f, t);
out:
	kfree(f);
	kfree(t);
	return rc;
}

int vfs_symlink(const char *target, int dirfd, const char *path)
{
	int rc;
	struct target *t = target_alloc(dirfd, path, &rc);

	if (t == NULL)
		return rc;
	if (t->exists || t->is_mount)
		rc = -EEXIST;
	else if (target[0] == '\0')
		rc = -ENOENT;
	else if (t->w.node.ops->symlink == NULL)
		rc = -EROFS;
	else
		rc = t->w.node.ops->symlink(&t->w.node, t->w.path, t->name, t->len, target);
	kfree(t);
	return rc;
}

int vfs_link(int from_dirfd, const char *from, int to_dirfd, const char *to, bool follow)
{
	struct walk *w = walk_alloc();
	struct target *t = NULL;
	int rc = w ? resolve(w, from_dirfd, from, follow) : -ENOMEM;

	if (rc == 0)
		t = target_alloc(to_dirfd, to, &rc);
	if (t == NULL)
		goto out;
	if (S_ISDIR(w->node.mode))
		rc = -EPERM;
	else if (t->exists || t->is_mount)
		rc = -EEXIST;
	else if (w->node.fs_id != t->w.node.fs_id)
		rc = -EXDEV;
	else if (t->w.node.ops->link == NULL)
		rc = t->w.node.ops->create ? -EPERM : -EROFS;
	else
		rc = t->w.node.ops->link(&w->node, w->path, &t->w.node, t->w.path, t->name, t->len);
out:
	kfree(t);
	kfree(w);
	return rc;
}

int vfs_chmod(int dirfd, const char *path, uint32_t mode, bool follow)
{
	struct walk *w = walk_alloc();
	int rc = w ? resolve(w, dirfd, path, follow) : -ENOMEM;

	if (rc == 0 && w->node.ops->chmod)
		rc = w->node.ops->chmod(&w->node, w->path, mode & 07777);
	else if (rc == 0 && w->node.ops->create == NULL && !S_ISCHR(w->node.mode))
		rc = -EROFS;
	kfree(w);
	return rc;
}

int vfs_set_times(int dirfd, const char *path, bool follow, uint64_t atime, uint64_t mtime)
{
	struct walk *w = walk_alloc();
	int rc = w ? resolve(w, dirfd, path, follow) : -ENOMEM;

	if (rc == 0 && w->node.ops->set_times)
		rc = w->node.ops->set_times(&w->node, w->path, atime, mtime);
	else if (rc == 0 && w->node.ops->create == NULL && !S_ISCHR(w->node.mode))
		rc = -EROFS;
	kfree(w);
	return rc;
}

/* ---- the standard mounts ---- */

static int mount_tmpfs(const char *path)
{
	struct vnode root;
	int rc = tmpfs_new(&root);

	return rc < 0 ? rc : vfs_mount(path, &root);
}

/* $HOME gets its own tmpfs unless a mount already provides it. */
static int mount_home(const char *home)
{
	for (unsigned int i = 0; i < ns.nr_mounts; i++)
		if (path_within(ns.mounts[i].path, home))
			return 0;
	if (!is_canonical(home) || home[1] == '\0')
		return 0;
	return mount_tmpfs(home);
}

/* ancestor[0..len) is missing: a directory in its parent when that is a
 * tmpfs (one we made for a level above, or /tmp), else an empty tmpfs of
 * its own (never a directory made on the host or refused by an image). */
static int make_missing_directory(char *ancestor)
{
	struct vnode parent;
	char *slash = strrchr(ancestor, '/');
	int rc;

	*slash = '\0';
	rc = vfs_resolve(AT_FDCWD, slash == ancestor ? "/" : ancestor, true, &parent, NULL);
	*slash = '/';
	if (rc == 0 && parent.ops->magic == TMPFS_MAGIC)
		return vfs_mkdir(AT_FDCWD, ancestor, 0755);
	return mount_tmpfs(ancestor);
}

/* A mount point needs the directories above it, as on Linux; where the
 * images lack one (a --mount at /home/me/src in an image with no /home),
 * it is made, so paths through it resolve and cwd can be below it. */
static int make_mount_parents(void)
{
	unsigned int n = ns.nr_mounts;
	char *path = kmalloc(PATH_MAX);
	int rc = path ? 0 : -ENOMEM;

	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		struct stat st;

		memcpy(path, ns.mounts[i].path, strlen(ns.mounts[i].path) + 1);
		for (char *p = strchr(path + 1, '/'); rc == 0 && p != NULL;
		     p = strchr(p + 1, '/')) {
			*p = '\0';
			rc = vfs_stat(AT_FDCWD, path, true, &st);
			if (rc == -ENOENT)
				rc = make_missing_directory(path);
			*p = '/';
		}
	}
	kfree(path);
	return rc;
}

/* Host directories come first in the table, where they win over the
 * standard mounts at the same path, as vfs_init orders them. */
static int mount_hosts(const struct boot_info *bi)
{
	struct vnode node;
	int rc = hostfs_init(bi);

	for (unsigned int i = 0; rc == 0 && i < bi->nr_mounts; i++) {
		hostfs_root(i, &node);
		rc = vfs_mount(bi->mounts[i].guest_path, &node);
		if (rc < 0)
			printk("lispvm: cannot mount %s (%d)\n", bi->mounts[i].guest_path, rc);
	}
	return rc;
}

int vfs_remount_hosts(const struct boot_info *bi)
{
	struct mount *kept = kmalloc(sizeof(ns.mounts));
	unsigned int nr_kept = 0;
	int rc;

	if (kept == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < ns.nr_mounts; i++) {
		if (hostfs_owns(&ns.mounts[i].root))
			kfree(ns.mounts[i].path);
		else
			kept[nr_kept++] = ns.mounts[i];
	}
	ns.nr_mounts = 0;
	rc = mount_hosts(bi);
	for (unsigned int i = 0; i < nr_kept; i++) {
		if (rc == 0 && ns.nr_mounts == MAX_MOUNTS)
			rc = -ENOSPC;
		if (rc == 0)
			ns.mounts[ns.nr_mounts++] = kept[i];
		else
			kfree(kept[i].path);
	}
	kfree(kept);
	return rc == 0 ? make_mount_parents() : rc;
}

int vfs_init(const struct boot_info *bi, const char *home)
{
	struct vnode node;
	int rc;

	if (bi->nr_images > 0) {
		rc = imagefs_init(bi);
		if (rc < 0)
			return rc;
		imagefs_root(&ns.root);
	} else if ((rc = tmpfs_new(&ns.root)) < 0) {
		return rc;
	}
	/* Host directories first: a --mount at /tmp replaces the tmpfs. */
	rc = mount_hosts(bi);
	if (rc == 0 && mount_exact("/tmp") == NULL)
		rc = mount_tmpfs("/tmp");
	if (rc == 0 && mount_exact("/dev") == NULL) {
		devfs_root(&node);
		rc = vfs_mount("/dev", &node);
	}
	if (rc == 0 && mount_exact("/proc") == NULL) {
		procfs_root(&node);
		rc = vfs_mount("/proc", &node);
	}
	if (rc == 0 && home != NULL)
		rc = mount_home(home);
	return rc == 0 ? make_mount_parents() : rc;
}
