/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_PATH */
#include "hostfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostfs_path.h"
#include "hostfs_quota.h"
#include "log.h"

/* One request being served: a private copy of it and of its paths, so a
 * guest that rewrites its memory meanwhile cannot change what was checked. */
struct hostfs_call {
	struct hostfs *fs;
	const struct guest_memory *mem;
	struct lispvm_hostfs_req req;
	struct hostfs_mount *mount; /* for ops with a path */
	bool broken;
	char path[LISPVM_HOSTFS_PATH_MAX];
	char path2[LISPVM_HOSTFS_PATH_MAX];
};

/* The entry a path names, as its directory plus last name, for the *at()
 * calls that act on the entry itself and never follow it. */
struct hostfs_entry {
	int dir;
	const char *name;
};

/* Guest flags are Linux's own x86-64 O_* values, the same as the host's. */
#define HOSTFS_OPEN_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY)
/* No set-user-ID or set-group-ID files made by a guest on the host. */
#define HOSTFS_FILE_MODE 0777
#define HOSTFS_DIR_MODE	 01777

/* Every guest range goes through the checked accessor; one outside RAM
 * means a broken guest, and the VM stops. */
static void *call_buffer(struct hostfs_call *c, const char *what, uint64_t gpa, uint64_t len,
			 enum guest_access access)
{
	void *p = guest_memory_access(c->mem, gpa, len, access);

	if (p == NULL) {
		log_error("guest error: hostfs %s buffer [0x%" PRIx64 ", +0x%" PRIx64
			  ") is outside %sguest RAM",
			  what, gpa, len, access == GUEST_WRITE ? "writable " : "");
		c->broken = true;
	}
	return p;
}

/* Copies a path out of guest memory, then checks the copy: a plain-name
 * path, or any text (a symlink's target). */
static int fetch_path(struct hostfs_call *c, uint64_t gpa, uint64_t len, char *out, bool any_text)
{
	const char *src;

	if (len == 0 || len > LISPVM_HOSTFS_PATH_MAX)
		return -EINVAL;
	src = call_buffer(c, "path", gpa, len, GUEST_READ);
	if (src == NULL)
		return -EFAULT;
	memcpy(out, src, len);
	return any_text ? hostfs_path_check_text(out, len) : hostfs_path_check(out, len);
}

static int fetch_entry(struct hostfs_call *c, uint64_t gpa, uint64_t len, char *path,
		       struct hostfs_entry *e)
{
	int rc = fetch_path(c, gpa, len, path, false);

	if (rc < 0)
		return rc;
	e->dir = hostfs_path_parent(c->mount->root_fd, path, &e->name);
	return e->dir < 0 ? e->dir : 0;
}

/* A host call's result as the guest gets it. */
static int64_t result(int64_t rc)
{
	return rc < 0 ? -errno : rc;
}

static int handle_fd(const struct hostfs_call *c)
{
	const struct hostfs_handle *h;

	if (c->req.handle >= LISPVM_HOSTFS_MAX_HANDLES)
		return -EBADF;
	h = &c->fs->handles[c->req.handle];
	return h->used ? h->fd : -EBADF;
}

/* The mount of the handle handle_fd just accepted. */
static struct hostfs_mount *handle_mount(const struct hostfs_call *c)
{
	return &c->fs->mounts[c->fs->handles[c->req.handle].mount];
}

static int free_handle(const struct hostfs *fs)
{
	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++)
		if (!fs->handles[i].used)
			return i;
	return -EMFILE;
}

static uint64_t io_length(const struct hostfs_call *c)
{
	return c->req.buf_len < LISPVM_HOSTFS_IO_MAX ? c->req.buf_len : LISPVM_HOSTFS_IO_MAX;
}

static void to_guest_stat(const struct stat *st, struct lispvm_hostfs_stat *out)
{
	*out = (struct lispvm_hostfs_stat){
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.blocks = (uint64_t)st->st_blocks,
		.rdev = st->st_rdev,
		.mode = st->st_mode,
		.nlink = (uint32_t)st->st_nlink,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.atime_sec = st->st_atim.tv_sec,
		.mtime_sec = st->st_mtim.tv_sec,
		.ctime_sec = st->st_ctim.tv_sec,
		.atime_nsec = (uint32_t)st->st_atim.tv_nsec,
		.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
		.ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
		.blksize = (uint32_t)st->st_blksize,
	};
}

/* The guest's stat buffer, checked before the host does any work. */
static void *stat_buffer(struct hostfs_call *c, int *rc)
{
	void *buf;

	*rc = -EINVAL;
	if (c->req.buf_len != sizeof(struct lispvm_hostfs_stat))
		return NULL;
	buf = call_buffer(c, "stat", c->req.buf_gpa, c->req.buf_len, GUEST_WRITE);
	*rc = buf ? 0 : -EFAULT;
	return buf;
}

static int64_t put_stat(void *buf, const struct stat *st)
{
	struct lispvm_hostfs_stat out;

	to_guest_stat(st, &out);
	memcpy(buf, &out, sizeof(out)); /* the guest's buffer may be unaligned */
	return 0;
}

/* A change to the names in one directory of a capped mount: it costs the
 * directory's growth, plus HOSTFS_NAME_COST for a name made, less what a
 * name removed frees (vmm/hostfs_quota.h).  Nothing for other mounts. */
struct name_change {
	struct hostfs_mount *m; /* NULL: not counted */
	int dir;
	int64_t dir_bytes;
	int64_t cost; /* counted once the change is made */
};

/* needs: the room the change surely takes, refused with -ENOSPC when less
 * is left: HOSTFS_NAME_COST for a name made, a block more for a directory
 * (its first, on most filesystems), a block for a rename (which may grow
 * its new directory; an ext4 directory never shrinks).  makes_name: the
 * change adds a name, which costs HOSTFS_NAME_COST. */
static int change_begin(struct hostfs_call *c, struct name_change *nc, int dir, uint64_t needs,
			bool makes_name)
{
	struct stat st;

	*nc = (struct name_change){.dir = dir};
	if (!hostfs_quota_capped(c->mount))
		return 0;
	if (hostfs_quota_room(c->mount) < needs)
		return -ENOSPC;
	if (fstat(dir, &st) < 0)
		return -errno;
	nc->m = c->mount;
	nc->dir_bytes = hostfs_quota_bytes(&st);
	nc->cost = makes_name ? HOSTFS_NAME_COST : 0;
	return 0;
}

/* The entry about to be removed (or replaced): what that gives back. */
static void change_removes(struct hostfs_call *c, struct name_change *nc,
			   const struct hostfs_entry *e)
{
	struct stat st;

	if (nc->m != NULL && fstatat(e->dir, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		nc->cost -= HOSTFS_NAME_COST + hostfs_quota_freed(c->fs, &st);
}

/* A directory or symlink just made: its own blocks. */
static void change_adds(struct name_change *nc, const struct hostfs_entry *e)
{
	struct stat st;

	if (nc->m != NULL && fstatat(e->dir, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		nc->cost += hostfs_quota_bytes(&st);
}

/* rc: the change's result.  A failed one may still have grown the
 * directory. */
static void change_end(struct name_change *nc, int64_t rc)
{
	struct stat st;

	if (nc->m == NULL)
		return;
	if (fstat(nc->dir, &st) == 0)
		hostfs_quota_add(nc->m, hostfs_quota_bytes(&st) - nc->dir_bytes);
	if (rc >= 0)
		hostfs_quota_add(nc->m, nc->cost);
}

static int64_t op_lstat(struct hostfs_call *c)
{
	struct hostfs_entry e;
	struct stat st;
	int rc;
	void *buf = stat_buffer(c, &rc);

	if (buf == NULL || (rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e)) < 0)
		return rc;
	rc = (int)result(fstatat(e.dir, e.name, &st, AT_SYMLINK_NOFOLLOW));
	close(e.dir);
	return rc < 0 ? rc : put_stat(buf, &st);
}

static int64_t op_readlink(struct hostfs_call *c)
{
	uint64_t len =
		c->req.buf_len < LISPVM_HOSTFS_PATH_MAX ? c->req.buf_len : LISPVM_HOSTFS_PATH_MAX;
	struct hostfs_entry e;
	char *buf;
	ssize_t n;
	int rc;

	if (len == 0)
		return -EINVAL;
	buf = call_buffer(c, "readlink", c->req.buf_gpa, len, GUEST_WRITE);
	if (buf == NULL)
		return -EFAULT;
	rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e);
	if (rc < 0)
		return rc;
	n = readlinkat(e.dir, e.name, buf, len);
	rc = n < 0 ? -errno : 0;
	close(e.dir);
	return rc < 0 ? rc : n;
}

/* Only regular files and directories: opening or reading a FIFO or device
 * could block the vCPU or reach host hardware. */
/* Only regular files and directories are ever opened for the guest. */
static int check_mode(mode_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) ? 0 : -ENXIO;
}

static int open_flags(const struct hostfs_call *c, int *flags)
{
	uint32_t f = c->req.flags;
	int access = (int)(f & O_ACCMODE);

	if (access == O_ACCMODE)
		return -EINVAL;
	if (c->mount->readonly && (access != O_RDONLY || (f & (O_CREAT | O_TRUNC))))
		return -EROFS;
	/* O_NONBLOCK so that a FIFO swapped in after look_before_open still
	 * cannot block the open; it does nothing to files and directories. */
	*flags = access | (int)(f & HOSTFS_OPEN_FLAGS) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	return 0;
}

/* What the path names now, looked at without opening it: opening a FIFO
 * or a device runs host code (it wakes a FIFO's writer, calls a driver's
 * open), so those are refused before any open.  -ENOENT if absent. */
static int look_before_open(struct hostfs_call *c, struct stat *st)
{
	int fd = hostfs_path_open(c->mount->root_fd, c->path, O_PATH | O_CLOEXEC, 0), rc;

	if (fd < 0)
		return fd;
	rc = fstat(fd, st) < 0 ? -errno : check_mode(st->st_mode);
	close(fd);
	return rc;
}

/* O_CREAT of a name that is absent: on a capped mount, a name made. */
static int open_new(struct hostfs_call *c, int flags)
{
	mode_t mode = c->req.mode & HOSTFS_FILE_MODE;
	struct name_change nc;
	struct hostfs_entry e;
	int fd;

	if (!hostfs_quota_capped(c->mount))
		return hostfs_path_open(c->mount->root_fd, c->path, flags, mode);
	e.dir = hostfs_path_parent(c->mount->root_fd, c->path, &e.name);
	if (e.dir < 0)
		return e.dir;
	fd = change_begin(c, &nc, e.dir, HOSTFS_NAME_COST, true);
	if (fd == 0) {
		fd = hostfs_path_open(c->mount->root_fd, c->path, flags, mode);
		change_end(&nc, fd);
	}
	close(e.dir);
	return fd;
}

static int64_t op_open(struct hostfs_call *c)
{
	int flags, fd, rc, slot = free_handle(c->fs);
	struct stat before, after;

	if ((rc = open_flags(c, &flags)) < 0)
		return rc;
	if (slot < 0)
		return slot;
	if ((rc = fetch_path(c, c->req.path_gpa, c->req.path_len, c->path, false)) < 0)
		return rc;
	rc = look_before_open(c, &before);
	if (rc < 0 && !(rc == -ENOENT && (flags & O_CREAT)))
		return rc;
	fd = rc == 0 ? hostfs_path_open(c->mount->root_fd, c->path, flags,
					c->req.mode & HOSTFS_FILE_MODE)
		     : open_new(c, flags);
	if (fd < 0)
		return fd;
	/* The file opened must be the one looked at (or a new one). */
	if (fstat(fd, &after) < 0 || check_mode(after.st_mode) < 0 ||
	    (rc == 0 && (after.st_dev != before.st_dev || after.st_ino != before.st_ino))) {
		close(fd);
		return -ENXIO;
	}
	/* O_TRUNC gives back what the file held. */
	if (rc == 0 && hostfs_quota_capped(c->mount))
		hostfs_quota_add(c->mount,
				 hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before));
	c->fs->handles[slot] = (struct hostfs_handle){
		.fd = fd,
		.used = true,
		.mount = c->req.mount,
		.reopen_flags = flags & (O_ACCMODE | O_APPEND | O_DIRECTORY),
	};
	return slot;
}

/* A file removed while the VM held it open gives its blocks back when the
 * last handle on it closes (its removal gave back only its name). */
static int64_t freed_by_close(const struct hostfs_call *c, int fd)
{
	struct stat st;

	if (!hostfs_quota_capped(handle_mount(c)) || fstat(fd, &st) < 0 || st.st_nlink != 0 ||
	    !S_ISREG(st.st_mode) || hostfs_quota_held_open(c->fs, &st, (int)c->req.handle))
		return 0;
	return hostfs_quota_bytes(&st);
}

static int64_t op_close(struct hostfs_call *c)
{
	int fd = handle_fd(c);
	struct hostfs_mount *m;
	int64_t freed, rc;

	if (fd < 0)
		return fd;
	m = handle_mount(c);
	freed = freed_by_close(c, fd);
	c->fs->handles[c->req.handle] = (struct hostfs_handle){0};
	/* Linux closes the fd even when close reports an error. */
	rc = result(close(fd));
	hostfs_quota_add(m, -freed);
	return rc;
}

/* A write on a capped mount is shortened to what surely fits (as Linux
 * writes short at a full disk), then what the file grew by is counted. */
static int64_t write_counted(struct hostfs_call *c, int fd, const void *buf, uint64_t len)
{
	const struct hostfs_handle *h = &c->fs->handles[c->req.handle];
	struct hostfs_mount *m = handle_mount(c);
	uint64_t off = c->req.offset, fits;
	struct stat before, after;
	int64_t rc;

	if (!hostfs_quota_capped(m))
		return result(pwrite(fd, buf, len, (off_t)off));
	if (fstat(fd, &before) < 0)
		return -errno;
	/* O_APPEND writes at the end, whatever the offset (pwrite(2)). */
	if (h->reopen_flags & O_APPEND)
		off = (uint64_t)before.st_size;
	fits = hostfs_quota_write_fits(m, &before, off, len);
	if (fits == 0)
		return -ENOSPC;
	rc = result(pwrite(fd, buf, fits, (off_t)c->req.offset));
	if (fstat(fd, &after) < 0) {
		if (rc > 0)
			hostfs_quota_add(m, rc + HOSTFS_QUOTA_BLOCK); /* the most it could be */
		return rc;
	}
	/* Past the end on a file system without holes, the gap is allocated
	 * too: a write wholly past the old end that then does not fit is
	 * undone, as a truncation is. */
	if (rc > 0 && off > (uint64_t)before.st_size &&
	    hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before) >
		    (int64_t)hostfs_quota_room(m) &&
	    ftruncate(fd, before.st_size) == 0 && fstat(fd, &after) == 0) {
		hostfs_quota_add(m, hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before));
		return -ENOSPC;
	}
	hostfs_quota_add(m, hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before));
	return rc;
}

/* PREAD and PWRITE: the guest buffer is written by a read, read by a
 * write. */
static int64_t io_at(struct hostfs_call *c, bool write)
{
	int fd = handle_fd(c);
	uint64_t len = io_length(c);
	void *buf;

	if (fd < 0 || len == 0)
		return fd < 0 ? fd : 0;
	if (c->req.offset > INT64_MAX)
		return -EINVAL;
	buf = call_buffer(c, write ? "pwrite" : "pread", c->req.buf_gpa, len,
			  write ? GUEST_READ : GUEST_WRITE);
	if (buf == NULL)
		return -EFAULT;
	return write ? write_counted(c, fd, buf, len)
		     : result(pread(fd, buf, len, (off_t)c->req.offset));
}

static int64_t op_pread(struct hostfs_call *c)
{
	return io_at(c, false);
}

static int64_t op_pwrite(struct hostfs_call *c)
{
	return io_at(c, true);
}

static int64_t op_fstat(struct hostfs_call *c)
{
	int fd = handle_fd(c), rc;
	struct stat st;
	void *buf;

	if (fd < 0)
		return fd;
	buf = stat_buffer(c, &rc);
	if (buf == NULL)
		return rc;
	if (fstat(fd, &st) < 0)
		return -errno;
	return put_stat(buf, &st);
}

/* The records go straight into the guest's buffer: their d_off values are
 * the host's own cookies, which the next call's offset hands back. */
static int64_t op_getdents(struct hostfs_call *c)
{
	int fd = handle_fd(c);
	uint64_t len = io_length(c);
	void *buf;

	if (fd < 0 || len == 0)
		return fd < 0 ? fd : -EINVAL;
	if (c->req.offset > INT64_MAX)
		return -EINVAL;
	buf = call_buffer(c, "getdents", c->req.buf_gpa, len, GUEST_WRITE);
	if (buf == NULL)
		return -EFAULT;
	if (lseek(fd, (off_t)c->req.offset, SEEK_SET) < 0)
		return -errno;
	return result(syscall(SYS_getdents64, fd, buf, len));
}

/* Extending a file allocates nothing where the filesystem keeps holes,
 * and all of it where it does not: so measured, and undone past the cap. */
static int64_t truncate_counted(struct hostfs_mount *m, int fd, off_t size)
{
	struct stat before, after;
	int64_t grown;

	if (fstat(fd, &before) < 0)
		return -errno;
	if (ftruncate(fd, size) < 0)
		return -errno;
	if (fstat(fd, &after) < 0)
		after = before;
	grown = hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before);
	if (grown > 0 && (uint64_t)grown > hostfs_quota_room(m)) {
		if (ftruncate(fd, before.st_size) == 0 && fstat(fd, &after) == 0)
			grown = hostfs_quota_bytes(&after) - hostfs_quota_bytes(&before);
		hostfs_quota_add(m, grown);
		return -ENOSPC;
	}
	hostfs_quota_add(m, grown);
	return 0;
}

static int64_t op_ftruncate(struct hostfs_call *c)
{
	int fd = handle_fd(c);

	if (fd < 0)
		return fd;
	if (c->req.offset > INT64_MAX)
		return -EINVAL;
	if (hostfs_quota_capped(handle_mount(c)))
		return truncate_counted(handle_mount(c), fd, (off_t)c->req.offset);
	return result(ftruncate(fd, (off_t)c->req.offset));
}

static int64_t op_fsync(struct hostfs_call *c)
{
	int fd = handle_fd(c);

	return fd < 0 ? fd : result(fsync(fd));
}

static int64_t op_mkdir(struct hostfs_call *c)
{
	struct hostfs_entry e;
	int rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e);

	struct name_change nc;

	if (rc < 0)
		return rc;
	rc = change_begin(c, &nc, e.dir, HOSTFS_NAME_COST + HOSTFS_QUOTA_BLOCK, true);
	if (rc == 0) {
		rc = (int)result(mkdirat(e.dir, e.name, c->req.mode & HOSTFS_DIR_MODE));
		if (rc == 0)
			change_adds(&nc, &e);
		change_end(&nc, rc);
	}
	close(e.dir);
	return rc;
}

static int64_t remove_entry(struct hostfs_call *c, int at_flags)
{
	struct hostfs_entry e;
	int rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e);
	struct name_change nc;

	if (rc < 0)
		return rc;
	rc = change_begin(c, &nc, e.dir, 0, false);
	if (rc == 0) {
		change_removes(c, &nc, &e);
		rc = (int)result(unlinkat(e.dir, e.name, at_flags));
		change_end(&nc, rc);
	}
	close(e.dir);
	return rc;
}

static int64_t op_unlink(struct hostfs_call *c)
{
	return remove_entry(c, 0);
}

static int64_t op_rmdir(struct hostfs_call *c)
{
	return remove_entry(c, AT_REMOVEDIR);
}

/* The calls that name two entries: path (from) and path2 (to). */
typedef int (*two_entry_fn)(int from_dir, const char *from, int to_dir, const char *to);

/* A rename over another name removes that name, unless both are links
 * of one file (then rename does nothing). */
static void change_replaces(struct hostfs_call *c, struct name_change *nc,
			    const struct hostfs_entry *from, const struct hostfs_entry *to)
{
	struct stat a, b;

	if (nc->m != NULL && fstatat(from->dir, from->name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(to->dir, to->name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		change_removes(c, nc, to);
}

/* makes_name: link, which adds the name `to`; else rename, which moves a
 * name there. */
static int64_t on_two_entries(struct hostfs_call *c, two_entry_fn fn, bool makes_name)
{
	struct hostfs_entry from, to;
	int rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &from);
	struct name_change nc;

	if (rc < 0)
		return rc;
	rc = fetch_entry(c, c->req.path2_gpa, c->req.path2_len, c->path2, &to);
	if (rc == 0) {
		rc = change_begin(c, &nc, to.dir,
				  makes_name ? HOSTFS_NAME_COST : HOSTFS_QUOTA_BLOCK, makes_name);
		if (rc == 0) {
			if (!makes_name)
				change_replaces(c, &nc, &from, &to);
			rc = (int)result(fn(from.dir, from.name, to.dir, to.name));
			change_end(&nc, rc);
		}
		close(to.dir);
	}
	close(from.dir);
	return rc;
}

static int64_t op_rename(struct hostfs_call *c)
{
	return on_two_entries(c, renameat, false);
}

/* path is the new link's target, stored as given: the host never follows
 * it, the guest resolves it in its own namespace. */
static int64_t op_symlink(struct hostfs_call *c)
{
	struct hostfs_entry e;
	int rc = fetch_path(c, c->req.path_gpa, c->req.path_len, c->path, true);

	struct name_change nc;

	if (rc < 0 || (rc = fetch_entry(c, c->req.path2_gpa, c->req.path2_len, c->path2, &e)) < 0)
		return rc;
	rc = change_begin(c, &nc, e.dir, HOSTFS_NAME_COST, true);
	if (rc == 0) {
		rc = (int)result(symlinkat(c->path, e.dir, e.name));
		if (rc == 0)
			change_adds(&nc, &e);
		change_end(&nc, rc);
	}
	close(e.dir);
	return rc;
}

/* Flags 0: the source is never followed if it is a symlink. */
static int link_no_follow(int from_dir, const char *from, int to_dir, const char *to)
{
	return linkat(from_dir, from, to_dir, to, 0);
}

static int64_t op_link(struct hostfs_call *c)
{
	return on_two_entries(c, link_no_follow, true);
}

/* fchmodat's AT_SYMLINK_NOFOLLOW as glibc does it (Linux before 6.6
 * has no such flag), but with the calls the vCPU thread's seccomp filter
 * has: an O_PATH open of the name itself, then its /proc/self/fd link,
 * which names that file whatever happens to the name meanwhile. */
static int chmod_no_follow(int dir, const char *name, mode_t mode)
{
	int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc;
	char link[32];
	struct stat st;

	if (fd < 0)
		return -1;
	rc = fstat(fd, &st);
	if (rc == 0 && S_ISLNK(st.st_mode)) {
		errno = EOPNOTSUPP;
		rc = -1;
	} else if (rc == 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		rc = fchmodat(AT_FDCWD, link, mode, 0);
	}
	close(fd);
	return rc;
}

/* Permission bits only, as for files the guest creates; the last name is
 * never followed (a symlink is EOPNOTSUPP, as fchmodat(2) says). */
static int64_t op_chmod(struct hostfs_call *c)
{
	struct hostfs_entry e;
	int rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e);

	if (rc < 0)
		return rc;
	rc = (int)result(chmod_no_follow(e.dir, e.name, c->req.mode & HOSTFS_DIR_MODE));
	close(e.dir);
	return rc;
}

static int64_t op_utimens(struct hostfs_call *c)
{
	struct lispvm_hostfs_times t;
	struct hostfs_entry e;
	struct timespec ts[2];
	const void *buf;
	int rc;

	if (c->req.buf_len != sizeof(t))
		return -EINVAL;
	buf = call_buffer(c, "times", c->req.buf_gpa, sizeof(t), GUEST_READ);
	if (buf == NULL)
		return -EFAULT;
	memcpy(&t, buf, sizeof(t));
	ts[0] = (struct timespec){.tv_sec = t.atime_sec, .tv_nsec = t.atime_nsec};
	ts[1] = (struct timespec){.tv_sec = t.mtime_sec, .tv_nsec = t.mtime_nsec};
	/* UTIME_NOW is resolved by the guest: only plain times and OMIT. */
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec != LISPVM_HOSTFS_TIME_OMIT &&
		    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000L || ts[i].tv_sec < 0))
			return -EINVAL;
	rc = fetch_entry(c, c->req.path_gpa, c->req.path_len, c->path, &e);
	if (rc < 0)
		return rc;
	rc = (int)result(utimensat(e.dir, e.name, ts, AT_SYMLINK_NOFOLLOW));
	close(e.dir);
	return rc;
}

typedef int64_t (*hostfs_op_fn)(struct hostfs_call *c);

enum {
	OP_PATH = 1 << 0,    /* names req.mount and a path in it */
	OP_CHANGES = 1 << 1, /* refused on a read-only mount */
};

struct hostfs_op {
	const char *name;
	hostfs_op_fn fn;
	unsigned int kind;
};

static const struct hostfs_op hostfs_ops[LISPVM_HOSTFS_OP_COUNT] = {
	[LISPVM_HOSTFS_LSTAT] = {"lstat", op_lstat, OP_PATH},
	[LISPVM_HOSTFS_READLINK] = {"readlink", op_readlink, OP_PATH},
	[LISPVM_HOSTFS_OPEN] = {"open", op_open, OP_PATH}, /* checks its flags */
	[LISPVM_HOSTFS_CLOSE] = {"close", op_close, 0},
	[LISPVM_HOSTFS_PREAD] = {"pread", op_pread, 0},
	/* Handles on a read-only mount are read-only on the host too. */
	[LISPVM_HOSTFS_PWRITE] = {"pwrite", op_pwrite, 0},
	[LISPVM_HOSTFS_FSTAT] = {"fstat", op_fstat, 0},
	[LISPVM_HOSTFS_GETDENTS] = {"getdents", op_getdents, 0},
	[LISPVM_HOSTFS_FTRUNCATE] = {"ftruncate", op_ftruncate, 0},
	[LISPVM_HOSTFS_FSYNC] = {"fsync", op_fsync, 0},
	[LISPVM_HOSTFS_MKDIR] = {"mkdir", op_mkdir, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_UNLINK] = {"unlink", op_unlink, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_RMDIR] = {"rmdir", op_rmdir, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_RENAME] = {"rename", op_rename, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_SYMLINK] = {"symlink", op_symlink, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_CHMOD] = {"chmod", op_chmod, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_UTIMENS] = {"utimens", op_utimens, OP_PATH | OP_CHANGES},
	[LISPVM_HOSTFS_LINK] = {"link", op_link, OP_PATH | OP_CHANGES},
};

static int64_t dispatch(struct hostfs_call *c, const struct hostfs_op *op)
{
	if (op->kind & OP_PATH) {
		if (c->req.mount >= c->fs->nr_mounts)
			return -ENODEV;
		c->mount = &c->fs->mounts[c->req.mount];
		if ((op->kind & OP_CHANGES) && c->mount->readonly)
			return -EROFS;
	}
	return op->fn(c);
}

int64_t hostfs_serve(struct hostfs *fs, const struct guest_memory *mem, uint64_t req_gpa,
		     uint64_t req_size, bool *broken)
{
	struct hostfs_call c = {.fs = fs, .mem = mem};
	const struct hostfs_op *op;
	int64_t ret;

	if (req_size != sizeof(c.req) ||
	    guest_memory_read(mem, &c.req, req_gpa, sizeof(c.req)) < 0) {
		log_error("guest error: hostfs request [0x%" PRIx64 ", +0x%" PRIx64
			  ") is outside guest RAM or not a struct lispvm_hostfs_req",
			  req_gpa, req_size);
		*broken = true;
		return -EFAULT;
	}
	if (c.req.op >= LISPVM_HOSTFS_OP_COUNT)
		return -ENOSYS;
	op = &hostfs_ops[c.req.op];
	ret = dispatch(&c, op);
	*broken = c.broken;
	log_verbose("hostfs %s (mount %" PRIu32 ", handle %" PRIu64 ") = %" PRId64, op->name,
		    c.req.mount, c.req.handle, ret);
	return ret;
}

int hostfs_open(struct hostfs *fs, const struct guest_mount *mounts, unsigned int n, char *err,
		size_t err_size)
{
	if (n > GUEST_MAX_MOUNTS) {
		snprintf(err, err_size, "at most %d --mount directories", GUEST_MAX_MOUNTS);
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		int fd = mounts[i].root_given
				 ? fcntl(mounts[i].root_fd, F_DUPFD_CLOEXEC, 0)
				 : open(mounts[i].host_path, O_PATH | O_DIRECTORY | O_CLOEXEC),
		    probe;

		if (fd < 0) {
			snprintf(err, err_size, "--mount: cannot use host directory %s: %s",
				 mounts[i].host_path, strerror(errno));
			return -1;
		}
		fs->mounts[i] = (struct hostfs_mount){
			.root_fd = fd,
			.readonly = mounts[i].readonly,
			.max_size = mounts[i].readonly ? 0 : mounts[i].max_size,
		};
		fs->nr_mounts = i + 1;
		/* Every later lookup depends on openat2 (Linux 5.6). */
		probe = hostfs_path_open(fd, "", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (probe < 0) {
			snprintf(err, err_size, "--mount: cannot look up files beneath %s: %s%s",
				 mounts[i].host_path, strerror(-probe),
				 probe == -ENOSYS ? " (openat2 needs Linux 5.6 or later)" : "");
			return -1;
		}
		close(probe);
	}
	return 0;
}

unsigned int hostfs_open_handles(const struct hostfs *fs)
{
	unsigned int n = 0;

	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++)
		n += fs->handles[i].used;
	return n;
}

void hostfs_close(struct hostfs *fs)
{
	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++)
		if (fs->handles[i].used)
			close(fs->handles[i].fd);
	for (unsigned int i = 0; i < fs->nr_mounts; i++)
		close(fs->mounts[i].root_fd);
	*fs = (struct hostfs){0};
}
