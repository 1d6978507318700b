/* SPDX-License-Identifier: MIT */
#include "fs/procfs.h"

#include <errno.h>
#include <linux/limits.h>
#include <linux/mman.h>
#include <linux/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "fs/dirent_out.h"
#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "linux/fd.h"
#include "linux/process.h"
#include "linux/uaccess.h"

#define PROCFS_DEV 0x0016

enum proc_kind {
	PROC_ROOT,
	PROC_SELF,
	PROC_MEMINFO,
	PROC_CPUINFO,
	PROC_PID,
	PROC_EXE,
	PROC_CWD,
	PROC_FD_DIR,
	PROC_MAPS,
	PROC_STATUS,
	PROC_CMDLINE,
	PROC_FD,      /* arg = the descriptor */
	PROC_FD_OPEN, /* what fd `arg` has open, reached through PROC_FD */
	PROC_KIND_COUNT
};

struct proc_entry {
	const char *name;
	uint32_t mode;
	enum proc_kind parent;
};

static const struct proc_entry entries[PROC_KIND_COUNT] = {
	[PROC_ROOT] = {"", S_IFDIR | 0555, PROC_ROOT},
	[PROC_SELF] = {"self", S_IFLNK | 0777, PROC_ROOT},
	[PROC_MEMINFO] = {"meminfo", S_IFREG | 0444, PROC_ROOT},
	[PROC_CPUINFO] = {"cpuinfo", S_IFREG | 0444, PROC_ROOT},
	[PROC_PID] = {NULL, S_IFDIR | 0555, PROC_ROOT}, /* named by the pid */
	[PROC_EXE] = {"exe", S_IFLNK | 0777, PROC_PID},
	[PROC_CWD] = {"cwd", S_IFLNK | 0777, PROC_PID},
	[PROC_FD_DIR] = {"fd", S_IFDIR | 0500, PROC_PID},
	[PROC_MAPS] = {"maps", S_IFREG | 0444, PROC_PID},
	[PROC_STATUS] = {"status", S_IFREG | 0444, PROC_PID},
	[PROC_CMDLINE] = {"cmdline", S_IFREG | 0444, PROC_PID},
	[PROC_FD] = {NULL, S_IFLNK | 0700, PROC_FD_DIR}, /* named by the fd */
	[PROC_FD_OPEN] = {NULL, 0, PROC_FD_DIR},	 /* never listed */
};

static const struct vnode_ops procfs_vnode_ops;
static unsigned int procfs_fs_id;

static void to_vnode(enum proc_kind kind, unsigned int arg, struct vnode *out)
{
	if (procfs_fs_id == 0)
		procfs_fs_id = vfs_new_fs_id();
	out->ops = &procfs_vnode_ops;
	out->mode = entries[kind].mode;
	out->fs_id = procfs_fs_id;
	out->proc.kind = kind;
	out->proc.arg = arg;
}

void procfs_root(struct vnode *out)
{
	to_vnode(PROC_ROOT, 0, out);
}

/* A decimal name: its value, or -1. */
static int64_t parse_number(const char *name, size_t len)
{
	int64_t v = 0;

	if (len == 0 || len > 9 || (len > 1 && name[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int procfs_lookup(const struct vnode *dir, const char *path, const char *name, size_t len,
			 struct vnode *out)
{
	enum proc_kind kind = dir->proc.kind;
	int64_t n = parse_number(name, len);

	(void)path;
	if (kind == PROC_ROOT && n == current_process()->pid) {
		to_vnode(PROC_PID, (unsigned int)n, out);
		return 0;
	}
	if (kind == PROC_FD_DIR) {
		struct file *f = n >= 0 ? fd_get((int)n) : NULL;

		if (f == NULL)
			return -ENOENT;
		file_put(f);
		to_vnode(PROC_FD, (unsigned int)n, out);
		return 0;
	}
	for (unsigned int i = 1; i < PROC_KIND_COUNT; i++) {
		if (entries[i].parent == kind && entries[i].name &&
		    strlen(entries[i].name) == len && memcmp(entries[i].name, name, len) == 0) {
			to_vnode(i, 0, out);
			return 0;
		}
	}
	return -ENOENT;
}

static int64_t copy_link(const char *target, char *buf, uint64_t size)
{
	size_t len = strlen(target);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, target, len + 1);
	return (int64_t)len;
}

static int64_t procfs_readlink(const struct vnode *n, const char *path, char *buf, uint64_t size)
{
	struct process *p = current_process();
	char pid[16];
	struct file *f;
	int64_t rc;

	(void)path;
	switch (n->proc.kind) {
	case PROC_SELF:
		snprintf(pid, sizeof(pid), "%d", p->pid);
		return copy_link(pid, buf, size);
	case PROC_EXE:
		return copy_link(p->exe, buf, size);
	case PROC_CWD:
		return copy_link(p->cwd, buf, size);
	case PROC_FD:
		f = fd_get((int)n->proc.arg);
		if (f == NULL)
			return -ENOENT;
		rc = copy_link(f->path, buf, size);
		file_put(f);
		return rc;
	default:
		return -EINVAL;
	}
}

/* /proc/self/fd/N followed: the open file itself, as Linux's magic
 * links give, unless a directory (whose path is real and canonical). */
static int procfs_follow_magic(const struct vnode *link, struct vnode *out)
{
	struct file *f;
	struct stat st;
	int rc;

	if (link->proc.kind != PROC_FD)
		return -ENOENT;
	f = fd_get((int)link->proc.arg);
	if (f == NULL)
		return -ENOENT;
	rc = f->ops->stat ? f->ops->stat(f, &st) : -ENOENT;
	file_put(f);
	if (rc < 0 || S_ISDIR(st.st_mode))
		return -ENOENT;
	*out = *link;
	out->proc.kind = PROC_FD_OPEN;
	out->mode = st.st_mode;
	return 0;
}

static void proc_stat(const struct vnode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = PROCFS_DEV;
	st->st_ino = ((uint64_t)n->proc.kind << 32 | n->proc.arg) + 1;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_blksize = PAGE_SIZE;
	st->st_atime = st->st_mtime = st->st_ctime =
		(long)(process_start_realtime_ns() / NSEC_PER_SEC);
}

static int procfs_stat(const struct vnode *n, const char *path, struct stat *st)
{
	struct file *f;
	int rc;

	(void)path;
	if (n->proc.kind != PROC_FD_OPEN) {
		proc_stat(n, st);
		return 0;
	}
	f = fd_get((int)n->proc.arg);
	if (f == NULL)
		return -ENOENT;
	rc = f->ops->stat(f, st);
	file_put(f);
	return rc;
}

/* ---- generated text ---- */

struct text {
	char *buf;
	uint64_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (uint64_t)n < t->cap - t->len ? (uint64_t)n : t->cap - t->len - 1;
}

static void gen_meminfo(struct text *t)
{
	uint64_t total = pmem_usable_count() * (PAGE_SIZE / 1024);
	uint64_t free = pmem_free_count() * (PAGE_SIZE / 1024);

	text_add(t, "MemTotal:       %8lu kB\nMemFree:        %8lu kB\nMemAvailable:   %8lu kB\n",
		 total, free, free);
	text_add(t, "Buffers:               0 kB\nCached:                0 kB\n");
	text_add(t, "SwapTotal:             0 kB\nSwapFree:              0 kB\n");
}

static void cpuid_words(uint32_t leaf, uint32_t r[4])
{
	struct cpuid_regs c = cpuid(leaf, 0);

	r[0] = c.eax;
	r[1] = c.ebx;
	r[2] = c.ecx;
	r[3] = c.edx;
}

static void gen_cpuinfo(struct text *t)
{
	uint32_t r[4], brand[13] = {0};
	char vendor[13];

	cpuid_words(0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	cpuid_words(0x80000000u, r);
	if (r[0] >= 0x80000004u)
		for (uint32_t i = 0; i < 3; i++)
			cpuid_words(0x80000002u + i, brand + 4 * i);
	cpuid_words(1, r);
	text_add(t,
		 "processor\t: 0\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
		 "model name\t: %s\nstepping\t: %u\ncpu cores\t: 1\nsiblings\t: 1\n\n",
		 vendor, ((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff),
		 ((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0), (const char *)brand, r[0] & 0xf);
}

static void gen_maps(struct text *t)
{
	struct mm *mm = &current_process()->mm;

	for (struct vma *v = mm->areas; v; v = v->next) {
		const char *name = "";

		if (v->start >= mm->brk_start && v->end <= mm->brk && mm->brk > mm->brk_start)
			name = "[heap]";
		else if (v->end == mm->stack_top)
			name = "[stack]";
		else if (v->backing.kind == VMA_FILE || v->backing.kind == VMA_SHARED)
			name = v->backing.file->path;
		text_add(t, "%08lx-%08lx %c%c%c%c %08lx 00:00 0 %s%s\n", v->start, v->end,
			 v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			 v->prot & PROT_EXEC ? 'x' : '-', v->flags & MAP_SHARED ? 's' : 'p',
			 v->backing.offset, *name ? "                          " : "", name);
	}
}

static void gen_status(struct text *t)
{
	struct process *p = current_process();
	struct thread *th = current_thread();

	text_add(t, "Name:\t%s\nUmask:\t%04o\nState:\tR (running)\nTgid:\t%d\nNgid:\t0\n", th->comm,
		 p->umask, p->pid);
	text_add(t, "Pid:\t%d\nPPid:\t0\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		 th->tid);
	text_add(t, "FDSize:\t%d\nThreads:\t1\nSigQ:\t0/0\nSigPnd:\t0000000000000000\n",
		 FD_TABLE_SIZE);
	text_add(t, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
}

static void gen_cmdline(struct text *t)
{
	const struct process *p = current_process();
	uint64_t n = p->cmdline_len < t->cap ? p->cmdline_len : t->cap;

	memcpy(t->buf, p->cmdline, n);
	t->len = n;
}

/* ---- open files ---- */

static int64_t text_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	const struct text *t = f->priv;

	if (off >= t->len)
		return 0;
	if (len > t->len - off)
		len = t->len - off;
	return uaccess_copy(buf, t->buf + off, len) ? -EFAULT : (int64_t)len;
}

static int text_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = PROCFS_DEV;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	(void)f;
	return 0;
}

static void text_release(struct file *f)
{
	struct text *t = f->priv;

	kfree(t->buf);
	kfree(t);
}

static const struct file_ops text_ops = {
	.read = text_read,
	.stat = text_stat,
	.release = text_release,
};

/* Directory listings: position 0 ".", 1 "..", then the entries. */
static int64_t dir_getdents(struct file *f, void *buf, uint64_t len, uint64_t *pos)
{
	const struct vnode *n = f->priv;
	struct dirent_out o;
	char name[16];

	if (dirent_out_init(&o, len) < 0)
		return -ENOMEM;
	for (;; (*pos)++) {
		uint64_t i = *pos;
		unsigned int type = dirent_type(S_IFDIR);
		const char *nm = name;

		if (i < 2) {
			nm = i == 0 ? "." : "..";
		} else if (n->proc.kind == PROC_FD_DIR) {
			struct file *e = NULL;

			while (i - 2 < FD_TABLE_SIZE && (e = fd_get((int)(i - 2))) == NULL)
				i++;
			if (e == NULL)
				break;
			file_put(e);
			*pos = i;
			snprintf(name, sizeof(name), "%lu", i - 2);
			type = dirent_type(S_IFLNK);
		} else if (n->proc.kind == PROC_ROOT && i == 2) {
			snprintf(name, sizeof(name), "%d", current_process()->pid);
		} else {
			/* Named entries of this directory, in table order. */
			uint64_t k = n->proc.kind == PROC_ROOT ? i - 2 : i - 1, seen = 0;
			unsigned int e;

			for (e = 1; e < PROC_KIND_COUNT; e++)
				if (entries[e].parent == n->proc.kind && entries[e].name &&
				    ++seen == k)
					break;
			if (e == PROC_KIND_COUNT)
				break;
			nm = entries[e].name;
			type = dirent_type(entries[e].mode);
		}
		if (!dirent_out_put(&o, i + 1, (int64_t)i + 1, type, nm, strlen(nm)))
			break;
	}
	return dirent_out_finish(&o, buf);
}

static int dir_stat(struct file *f, struct stat *st)
{
	proc_stat(f->priv, st);
	return 0;
}

static void dir_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops dir_ops = {
	.stat = dir_stat,
	.getdents = dir_getdents,
	.release = dir_release,
};

static int open_dir(const struct vnode *n, const char *path, uint32_t flags, struct file **out)
{
	struct vnode *copy = kmalloc(sizeof(*copy));
	struct file *f = copy ? file_alloc(&dir_ops, flags, path) : NULL;

	if (f == NULL) {
		kfree(copy);
		return -ENOMEM;
	}
	*copy = *n;
	f->priv = copy;
	*out = f;
	return 0;
}

#define TEXT_MAX (64 * 1024)

static int procfs_open(const struct vnode *n, const char *path, uint32_t flags, struct file **out)
{
	struct text *t;
	struct file *f;

	if (n->proc.kind == PROC_FD_OPEN) {
		/* The same open file, shared, as reopening a pipe or a
		 * terminal gives. */
		*out = fd_get((int)n->proc.arg);
		return *out ? 0 : -ENOENT;
	}
	if (S_ISDIR(n->mode))
		return open_dir(n, path, flags, out);
	if ((flags & 3) != 0)
		return -EACCES;
	t = kzalloc(sizeof(*t));
	if (t == NULL || (t->buf = kmalloc(TEXT_MAX)) == NULL) {
		kfree(t);
		return -ENOMEM;
	}
	t->cap = TEXT_MAX;
	t->buf[0] = '\0';
	switch (n->proc.kind) {
	case PROC_MEMINFO:
		gen_meminfo(t);
		break;
	case PROC_CPUINFO:
		gen_cpuinfo(t);
		break;
	case PROC_MAPS:
		gen_maps(t);
		break;
	case PROC_STATUS:
		gen_status(t);
		break;
	case PROC_CMDLINE:
		gen_cmdline(t);
		break;
	default:
		break;
	}
	f = file_alloc(&text_ops, flags, path);
	if (f == NULL) {
		text_release(&(struct file){.priv = t});
		return -ENOMEM;
	}
	f->priv = t;
	f->size = t->len;
	*out = f;
	return 0;
}

static const struct vnode_ops procfs_vnode_ops = {
	.follow_magic = procfs_follow_magic,
	.magic = 0x9fa0,
	.readonly = true,
	.lookup = procfs_lookup,
	.readlink = procfs_readlink,
	.stat = procfs_stat,
	.open = procfs_open,
};
