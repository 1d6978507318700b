/* SPDX-License-Identifier: MIT */
#include "fs/hostfs.h"

#include <errno.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <lispvm/abi.h>
#include <string.h>

#include "fs/dirent_out.h"
#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/hypercall.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "linux/mm.h"
#include "linux/uaccess.h"

/* Made-up st_dev of mount i: HOSTFS_DEV_BASE + i. */
#define HOSTFS_DEV_BASE 0x3000
/* Bytes moved per request through the kernel bounce buffer. */
#define HOSTFS_CHUNK (64 * 1024)

static struct {
	const char *guest_path;
	size_t prefix_len;
	bool readonly;
	unsigned int fs_id;
} mounts[BOOT_MAX_MOUNTS];

static const struct vnode_ops hostfs_vnode_ops;

/* One request with room for its paths and stat; physically contiguous
 * (whole kernel-heap pages), so the VMM can take guest-physical
 * addresses of its parts. */
struct call {
	struct lispvm_hostfs_req req;
	union {
		struct lispvm_hostfs_stat st;	  /* LSTAT, FSTAT */
		struct lispvm_hostfs_times times; /* UTIMENS */
	};
	char path[LISPVM_HOSTFS_PATH_MAX];
	char path2[LISPVM_HOSTFS_PATH_MAX];
};

int hostfs_init(const struct boot_info *bi)
{
	for (unsigned int i = 0; i < bi->nr_mounts; i++) {
		mounts[i].guest_path = bi->mounts[i].guest_path;
		mounts[i].prefix_len = strlen(bi->mounts[i].guest_path);
		mounts[i].readonly = bi->mounts[i].readonly;
		mounts[i].fs_id = vfs_new_fs_id();
	}
	return 0;
}

bool hostfs_owns(const struct vnode *n)
{
	return n->ops == &hostfs_vnode_ops;
}

void hostfs_root(unsigned int i, struct vnode *out)
{
	out->ops = &hostfs_vnode_ops;
	out->mode = S_IFDIR | 0755;
	out->fs_id = mounts[i].fs_id;
	out->host_mount = i;
}

static struct call *call_new(uint32_t op, unsigned int mount)
{
	struct call *c = kmalloc(sizeof(*c));

	if (c != NULL)
		c->req = (struct lispvm_hostfs_req){.op = op, .mount = mount};
	return c;
}

/* Writes the mount-relative form of `path` (plus "/name" when name is
 * not NULL) into out; its length with the NUL, or -ENAMETOOLONG. */
static int64_t relative(unsigned int mount, const char *path, const char *name, size_t len,
			char *out)
{
	const char *rel = path + mounts[mount].prefix_len;
	size_t n;

	while (*rel == '/')
		rel++;
	n = strlen(rel);
	if (n + 1 + len + 1 > LISPVM_HOSTFS_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, rel, n);
	if (name != NULL) {
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, name, len);
		n += len;
	}
	out[n] = '\0';
	return (int64_t)n + 1;
}

/* Puts the relative form of path[/name] in buf and points gpa/len at it. */
static int put_path(struct call *c, char *buf, uint64_t *gpa, uint64_t *len, const char *path,
		    const char *name, size_t name_len)
{
	int64_t n = relative(c->req.mount, path, name, name_len, buf);

	if (n < 0)
		return (int)n;
	*gpa = virt_to_phys(buf);
	*len = (uint64_t)n;
	return 0;
}

static int set_path(struct call *c, const char *path, const char *name, size_t len)
{
	return put_path(c, c->path, &c->req.path_gpa, &c->req.path_len, path, name, len);
}

static int set_path2(struct call *c, const char *path, const char *name, size_t len)
{
	return put_path(c, c->path2, &c->req.path2_gpa, &c->req.path2_len, path, name, len);
}

static int64_t call_do(struct call *c)
{
	return hypercall(LISPVM_HC_HOSTFS, virt_to_phys(&c->req), sizeof(c->req));
}

static int64_t call_stat(struct call *c)
{
	c->req.buf_gpa = virt_to_phys(&c->st);
	c->req.buf_len = sizeof(c->st);
	return call_do(c);
}

static void to_stat(unsigned int mount, const struct lispvm_hostfs_stat *h, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = HOSTFS_DEV_BASE + mount;
	st->st_ino = h->ino;
	st->st_mode = h->mode;
	st->st_nlink = h->nlink;
	st->st_uid = h->uid;
	st->st_gid = h->gid;
	st->st_rdev = h->rdev;
	st->st_size = (long)h->size;
	st->st_blksize = h->blksize;
	st->st_blocks = (long)h->blocks;
	st->st_atime = h->atime_sec;
	st->st_atime_nsec = h->atime_nsec;
	st->st_mtime = h->mtime_sec;
	st->st_mtime_nsec = h->mtime_nsec;
	st->st_ctime = h->ctime_sec;
	st->st_ctime_nsec = h->ctime_nsec;
}

/* ---- vnode operations ---- */

static int hostfs_lookup(const struct vnode *dir, const char *path, const char *name, size_t len,
			 struct vnode *out)
{
	struct call *c = call_new(LISPVM_HOSTFS_LSTAT, dir->host_mount);
	int64_t rc;

	if (c == NULL)
		return -ENOMEM;
	rc = set_path(c, path, name, len);
	if (rc == 0)
		rc = call_stat(c);
	if (rc == 0) {
		*out = *dir;
		out->mode = c->st.mode;
	}
	kfree(c);
	return (int)rc;
}

static int64_t hostfs_readlink(const struct vnode *n, const char *path, char *buf, uint64_t size)
{
	struct call *c = call_new(LISPVM_HOSTFS_READLINK, n->host_mount);
	int64_t rc;

	if (c == NULL)
		return -ENOMEM;
	rc = set_path(c, path, NULL, 0);
	if (rc == 0) {
		c->req.buf_gpa = virt_to_phys(c->path2);
		c->req.buf_len = sizeof(c->path2);
		rc = call_do(c);
	}
	if (rc >= 0 && (uint64_t)rc >= size)
		rc = -ENAMETOOLONG;
	if (rc >= 0) {
		memcpy(buf, c->path2, (size_t)rc);
		buf[rc] = '\0';
	}
	kfree(c);
	return rc;
}

static int hostfs_stat(const struct vnode *n, const char *path, struct stat *st)
{
	struct call *c = call_new(LISPVM_HOSTFS_LSTAT, n->host_mount);
	int64_t rc;

	if (c == NULL)
		return -ENOMEM;
	rc = set_path(c, path, NULL, 0);
	if (rc == 0)
		rc = call_stat(c);
	if (rc == 0)
		to_stat(n->host_mount, &c->st, st);
	kfree(c);
	return (int)rc;
}

/* A path operation: op on path[/name], and for RENAME/SYMLINK a second. */
static int path_op(uint32_t op, unsigned int mount, const char *path, const char *name, size_t len,
		   const char *path2, const char *name2, size_t len2, uint32_t mode)
{
	struct call *c;
	int64_t rc;

	if (mounts[mount].readonly)
		return -EROFS;
	c = call_new(op, mount);
	if (c == NULL)
		return -ENOMEM;
	c->req.mode = mode;
	rc = set_path(c, path, name, len);
	if (rc == 0 && path2 != NULL)
		rc = set_path2(c, path2, name2, len2);
	if (rc == 0)
		rc = call_do(c);
	kfree(c);
	return (int)rc;
}

static int hostfs_mkdir(const struct vnode *dir, const char *path, const char *name, size_t len,
			uint32_t mode)
{
	return path_op(LISPVM_HOSTFS_MKDIR, dir->host_mount, path, name, len, NULL, NULL, 0, mode);
}

static int hostfs_unlink(const struct vnode *dir, const char *path, const char *name, size_t len)
{
	return path_op(LISPVM_HOSTFS_UNLINK, dir->host_mount, path, name, len, NULL, NULL, 0, 0);
}

static int hostfs_rmdir(const struct vnode *dir, const char *path, const char *name, size_t len)
{
	return path_op(LISPVM_HOSTFS_RMDIR, dir->host_mount, path, name, len, NULL, NULL, 0, 0);
}

static int hostfs_rename(const struct vnode *from_dir, const char *from_path, const char *from_name,
			 size_t from_len, const struct vnode *to_dir, const char *to_path,
			 const char *to_name, size_t to_len)
{
	(void)to_dir; /* the same mount: vfs checked fs_id */
	return path_op(LISPVM_HOSTFS_RENAME, from_dir->host_mount, from_path, from_name, from_len,
		       to_path, to_name, to_len, 0);
}

static int hostfs_symlink(const struct vnode *dir, const char *path, const char *name, size_t len,
			  const char *target)
{
	struct call *c;
	size_t n = strlen(target) + 1;
	int64_t rc;

	if (mounts[dir->host_mount].readonly)
		return -EROFS;
	if (n > LISPVM_HOSTFS_PATH_MAX)
		return -ENAMETOOLONG;
	c = call_new(LISPVM_HOSTFS_SYMLINK, dir->host_mount);
	if (c == NULL)
		return -ENOMEM;
	/* The target is any text: it goes as is, not as a mount path. */
	memcpy(c->path, target, n);
	c->req.path_gpa = virt_to_phys(c->path);
	c->req.path_len = n;
	rc = set_path2(c, path, name, len);
	if (rc == 0)
		rc = call_do(c);
	kfree(c);
	return (int)rc;
}

static int hostfs_link(const struct vnode *from, const char *from_path, const struct vnode *dir,
		       const char *path, const char *name, size_t len)
{
	(void)dir;
	return path_op(LISPVM_HOSTFS_LINK, from->host_mount, from_path, NULL, 0, path, name, len,
		       0);
}

static int hostfs_chmod(const struct vnode *n, const char *path, uint32_t mode)
{
	return path_op(LISPVM_HOSTFS_CHMOD, n->host_mount, path, NULL, 0, NULL, NULL, 0, mode);
}

static void to_host_time(uint64_t ns, int64_t *sec, int64_t *nsec)
{
	if (ns == VFS_TIME_OMIT) {
		*sec = 0;
		*nsec = LISPVM_HOSTFS_TIME_OMIT;
	} else {
		*sec = (int64_t)(ns / 1000000000u);
		*nsec = (int64_t)(ns % 1000000000u);
	}
}

static int hostfs_set_times(const struct vnode *n, const char *path, uint64_t atime, uint64_t mtime)
{
	struct call *c;
	int64_t rc;

	if (mounts[n->host_mount].readonly)
		return -EROFS;
	c = call_new(LISPVM_HOSTFS_UTIMENS, n->host_mount);
	if (c == NULL)
		return -ENOMEM;
	to_host_time(atime, &c->times.atime_sec, &c->times.atime_nsec);
	to_host_time(mtime, &c->times.mtime_sec, &c->times.mtime_nsec);
	c->req.buf_gpa = virt_to_phys(&c->times);
	c->req.buf_len = sizeof(c->times);
	rc = set_path(c, path, NULL, 0);
	if (rc == 0)
		rc = call_do(c);
	kfree(c);
	return (int)rc;
}

/* ---- open files ---- */

struct host_file {
	unsigned int mount;
	uint64_t handle;
};

static int64_t handle_call(struct file *f, uint32_t op, uint64_t buf_phys, uint64_t len,
			   uint64_t offset)
{
	const struct host_file *h = f->priv;
	struct lispvm_hostfs_req req = {.op = op,
					.mount = h->mount,
					.handle = h->handle,
					.buf_gpa = buf_phys,
					.buf_len = len,
					.offset = offset};
	struct call *c = kmalloc(sizeof(*c));
	int64_t rc;

	if (c == NULL)
		return -ENOMEM;
	c->req = req;
	rc = call_do(c);
	kfree(c);
	return rc;
}

/* Moves bytes between the user buffer and the host in bounce chunks. */
static int64_t host_transfer(struct file *f, void *buf, uint64_t len, uint64_t off, bool write)
{
	uint64_t chunk = len < HOSTFS_CHUNK ? len : HOSTFS_CHUNK, done = 0;
	uint8_t *bounce;

	if (len == 0)
		return 0;
	bounce = kmalloc(chunk);
	if (bounce == NULL)
		return -ENOMEM;
	while (done < len) {
		uint64_t n = len - done < chunk ? len - done : chunk;
		int64_t got;

		if (write && uaccess_copy(bounce, (uint8_t *)buf + done, n) != 0) {
			got = -EFAULT;
		} else {
			got = handle_call(f, write ? LISPVM_HOSTFS_PWRITE : LISPVM_HOSTFS_PREAD,
					  virt_to_phys(bounce), n, off + done);
			if (got > 0 && !write &&
			    uaccess_copy((uint8_t *)buf + done, bounce, (uint64_t)got) != 0)
				got = -EFAULT;
		}
		if (got <= 0) {
			kfree(bounce);
			return done ? (int64_t)done : got;
		}
		done += (uint64_t)got;
		if ((uint64_t)got < n)
			break;
	}
	kfree(bounce);
	return (int64_t)done;
}

static int64_t host_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	return host_transfer(f, buf, len, off, false);
}

static int host_file_stat(struct file *f, struct stat *st)
{
	struct call *c = kmalloc(sizeof(*c));
	const struct host_file *h = f->priv;
	int64_t rc;

	if (c == NULL)
		return -ENOMEM;
	c->req = (struct lispvm_hostfs_req){
		.op = LISPVM_HOSTFS_FSTAT, .mount = h->mount, .handle = h->handle};
	rc = call_stat(c);
	if (rc == 0) {
		to_stat(h->mount, &c->st, st);
		f->size = c->st.size;
	}
	kfree(c);
	return (int)rc;
}

static int64_t host_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	struct stat st;
	int64_t n;

	/* The host's O_APPEND puts the bytes at the end; the offset we
	 * keep must follow it. */
	if ((f->flags & O_APPEND) && host_file_stat(f, &st) == 0)
		off = (uint64_t)st.st_size;
	n = host_transfer(f, (void *)buf, len, off, true);
	if (n > 0 && off + (uint64_t)n > f->size)
		f->size = off + (uint64_t)n;
	return n;
}

static int64_t host_getdents(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
	uint64_t cap = len < HOSTFS_CHUNK ? len : HOSTFS_CHUNK;
	uint8_t *bounce = kmalloc(cap ? cap : 1);
	int64_t n;

	if (bounce == NULL)
		return -ENOMEM;
	n = handle_call(f, LISPVM_HOSTFS_GETDENTS, virt_to_phys(bounce), cap, *pos);
	if (n > 0) {
		/* Resume after the last record the host gave. */
		uint64_t at = 0, last = 0;

		while (at + 19 < (uint64_t)n) {
			uint16_t reclen;

			memcpy(&reclen, bounce + at + 16, sizeof(reclen));
			if (reclen == 0 || at + reclen > (uint64_t)n)
				break;
			last = at;
			at += reclen;
		}
		memcpy(pos, bounce + last + 8, sizeof(*pos));
		if (uaccess_copy(buf, bounce, (uint64_t)n) != 0)
			n = -EFAULT;
	}
	kfree(bounce);
	return n;
}

static int host_truncate(struct file *f, uint64_t size)
{
	int64_t rc = handle_call(f, LISPVM_HOSTFS_FTRUNCATE, 0, 0, size);

	if (rc == 0)
		f->size = size;
	return (int)rc;
}

static int host_fsync(struct file *f)
{
	return (int)handle_call(f, LISPVM_HOSTFS_FSYNC, 0, 0, 0);
}

static int host_mmap(struct file *f, uint64_t off, struct mm_backing *out)
{
	struct stat st;
	int rc = host_file_stat(f, &st);

	if (rc < 0)
		return rc;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	*out = (struct mm_backing){
		.kind = VMA_FILE,
		.file = f,
		.file_bytes = off < (uint64_t)st.st_size ? (uint64_t)st.st_size - off : 0,
	};
	return 0;
}

static void host_release(struct file *f)
{
	handle_call(f, LISPVM_HOSTFS_CLOSE, 0, 0, 0);
	kfree(f->priv);
}

static const struct file_ops host_file_ops = {
	.read = host_read,
	.write = host_write,
	.stat = host_file_stat,
	.getdents = host_getdents,
	.mmap = host_mmap,
	.truncate = host_truncate,
	.fsync = host_fsync,
	.release = host_release,
};

static bool writes(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static int64_t host_open(unsigned int mount, const char *path, const char *name, size_t len,
			 uint32_t flags, uint32_t mode)
{
	struct call *c;
	int64_t rc;

	if (mounts[mount].readonly && writes(flags))
		return -EROFS;
	c = call_new(LISPVM_HOSTFS_OPEN, mount);
	if (c == NULL)
		return -ENOMEM;
	c->req.flags = flags;
	c->req.mode = mode;
	rc = set_path(c, path, name, len);
	if (rc == 0)
		rc = call_do(c);
	kfree(c);
	return rc;
}

static void close_handle(unsigned int mount, uint64_t handle)
{
	struct call *c = call_new(LISPVM_HOSTFS_CLOSE, mount);

	if (c == NULL)
		return;
	c->req.handle = handle;
	call_do(c);
	kfree(c);
}

/* An open file for a handle the VMM gave; closes it on failure. */
static int file_for_handle(unsigned int mount, int64_t handle, const char *path, uint32_t flags,
			   struct file **out)
{
	struct host_file *h;
	struct file *f;
	struct stat st;

	if (handle < 0)
		return (int)handle;
	h = kmalloc(sizeof(*h));
	f = h ? file_alloc(&host_file_ops, flags, path) : NULL;
	if (f == NULL) {
		kfree(h);
		close_handle(mount, (uint64_t)handle);
		return -ENOMEM;
	}
	h->mount = mount;
	h->handle = (uint64_t)handle;
	f->priv = h;
	if (host_file_stat(f, &st) == 0)
		f->size = (uint64_t)st.st_size;
	*out = f;
	return 0;
}

static int hostfs_open(const struct vnode *n, const char *path, uint32_t flags, struct file **out)
{
	int64_t handle = host_open(n->host_mount, path, NULL, 0,
				   flags & (O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECTORY), 0);

	return file_for_handle(n->host_mount, handle, path, flags, out);
}

/* One host open creates and opens, so a new 0444 file is still writable
 * through this descriptor, as on Linux. */
static int hostfs_create_open(const struct vnode *dir, const char *path, uint32_t mode,
			      uint32_t flags, struct file **out)
{
	int64_t handle =
		host_open(dir->host_mount, path, NULL, 0,
			  (flags & (O_ACCMODE | O_APPEND)) | O_CREAT | O_EXCL, mode & 07777);

	return file_for_handle(dir->host_mount, handle, path, flags, out);
}

static int hostfs_create(const struct vnode *dir, const char *path, const char *name, size_t len,
			 uint32_t mode, struct vnode *out)
{
	int64_t handle = host_open(dir->host_mount, path, name, len, O_WRONLY | O_CREAT | O_EXCL,
				   mode & 07777);

	if (handle < 0)
		return (int)handle;
	close_handle(dir->host_mount, (uint64_t)handle);
	*out = *dir;
	out->mode = S_IFREG | (mode & 07777);
	return 0;
}

static const struct vnode_ops hostfs_vnode_ops = {
	.magic = 0x65735546,
	.readonly = false,
	.lookup = hostfs_lookup,
	.readlink = hostfs_readlink,
	.stat = hostfs_stat,
	.open = hostfs_open,
	.create = hostfs_create,
	.create_open = hostfs_create_open,
	.mkdir = hostfs_mkdir,
	.unlink = hostfs_unlink,
	.rmdir = hostfs_rmdir,
	.rename = hostfs_rename,
	.symlink = hostfs_symlink,
	.link = hostfs_link,
	.chmod = hostfs_chmod,
	.set_times = hostfs_set_times,
};
