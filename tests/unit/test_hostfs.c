/* SPDX-License-Identifier: MIT */
/* --mount host directories through the hypercall dispatcher, against a real
 * temporary tree: the file operations work, and no path, symlink or bad
 * request ever reaches the secret file next to the mount. */
#define _GNU_SOURCE /* memmem, O_PATH */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "check.h"
#include "hostfs.h"
#include "hostfs_path.h"
#include "hostfs_quota.h"
#include "hypercall.h"

#define RAM_SIZE  0x400000ULL
#define ROM_GPA	  0x1000000ULL
#define REQ_GPA	  0x1000ULL /* struct lispvm_hypercall */
#define HREQ_GPA  0x1100ULL /* struct lispvm_hostfs_req */
#define PATH_GPA  0x2000ULL
#define PATH2_GPA 0x4000ULL
#define BUF_GPA	  0x10000ULL
#define SECRET	  "TOPSECRET-7c1f"
#define RW	  0 /* mount 0: the tree, read-write */
#define RO	  1 /* mount 1: the same tree, read-only */
#define CAP	  2 /* mount 2: an empty directory, rw,max-size=CAP_SIZE */
#define CAP_SIZE  (64 << 10)
#define CHUNK	  (32 << 10)

static _Alignas(8) uint8_t ram[RAM_SIZE];
static _Alignas(8) uint8_t rom[4096];
static struct guest_memory mem;
static struct hostfs fs;
static char base[64], mnt[128], capdir[128];

typedef struct lispvm_hostfs_req req_t;

/* ---- the tree ---- */

static void put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void put_link(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	CHECK(symlink(target, path) == 0);
}

static void make_tree(void)
{
	char path[256];

	snprintf(base, sizeof(base), "/tmp/lispvm-hostfs-XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	CHECK(mkdir(mnt, 0755) == 0);
	snprintf(capdir, sizeof(capdir), "%s/cap", base);
	CHECK(mkdir(capdir, 0755) == 0);
	snprintf(path, sizeof(path), "%s/mnt/sub", base);
	CHECK(mkdir(path, 0755) == 0);
	put_file("secret", SECRET);
	put_file("mnt/file.txt", "hello world");
	put_file("mnt/sub/inner.txt", "inner");
	put_link("file.txt", "mnt/rel");
	put_link("sub", "mnt/dirlink");
	snprintf(path, sizeof(path), "%s/secret", base);
	put_link(path, "mnt/abs");
	put_link("../secret", "mnt/up");
	put_link("../../secret", "mnt/sub/upup");
	put_link("../outside-new", "mnt/dangle");
	snprintf(path, sizeof(path), "%s/mnt/fifo", base);
	CHECK(mkfifo(path, 0644) == 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void host_read(const char *rel, char *out, size_t size)
{
	char path[256];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f != NULL) {
		n = fread(out, 1, size - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n;
}

/* ---- requests ---- */

static struct hypercall_context context(void)
{
	return (struct hypercall_context){.mem = &mem, .console_fd = -1, .hostfs = &fs};
}

static int64_t dispatch(const req_t *r, uint64_t req_gpa, uint64_t req_size,
			enum vm_stop_kind *stop)
{
	struct lispvm_hypercall hc = {.nr = LISPVM_HC_HOSTFS, .ret = 0x7777};
	struct hypercall_context ctx = context();

	hc.args[0] = req_gpa;
	hc.args[1] = req_size;
	memcpy(ram + HREQ_GPA, r, sizeof(*r));
	memcpy(ram + REQ_GPA, &hc, sizeof(hc));
	hypercall_dispatch(&ctx, REQ_GPA);
	*stop = ctx.stop.kind;
	memcpy(&hc, ram + REQ_GPA, sizeof(hc));
	return hc.ret;
}

/* A request that must be served: returns its result. */
static int64_t call(req_t r)
{
	enum vm_stop_kind stop;
	int64_t ret = dispatch(&r, HREQ_GPA, sizeof(r), &stop);

	CHECK(stop == VM_RUNNING);
	return ret;
}

/* A request that must stop the VM as a broken guest. */
static void expect_crash(req_t r)
{
	enum vm_stop_kind stop;

	dispatch(&r, HREQ_GPA, sizeof(r), &stop);
	CHECK(stop == VM_STOP_GUEST_CRASH);
}

static req_t with_path(uint32_t op, uint32_t mount, const char *path)
{
	size_t len = strlen(path) + 1;

	memcpy(ram + PATH_GPA, path, len);
	return (req_t){.op = op, .mount = mount, .path_gpa = PATH_GPA, .path_len = len};
}

static req_t with_paths(uint32_t op, uint32_t mount, const char *path, const char *path2)
{
	req_t r = with_path(op, mount, path);

	r.path2_len = strlen(path2) + 1;
	r.path2_gpa = PATH2_GPA;
	memcpy(ram + PATH2_GPA, path2, r.path2_len);
	return r;
}

static req_t on_handle(uint32_t op, int64_t handle, uint64_t len, uint64_t offset)
{
	return (req_t){.op = op,
		       .handle = (uint64_t)handle,
		       .buf_gpa = BUF_GPA,
		       .buf_len = len,
		       .offset = offset};
}

static int64_t open_path(uint32_t mount, const char *path, uint32_t flags, uint32_t mode)
{
	req_t r = with_path(LISPVM_HOSTFS_OPEN, mount, path);

	r.flags = flags;
	r.mode = mode;
	return call(r);
}

static struct lispvm_hostfs_stat stat_of(uint32_t mount, const char *path, int64_t *ret)
{
	struct lispvm_hostfs_stat st = {0};
	req_t r = with_path(LISPVM_HOSTFS_LSTAT, mount, path);

	r.buf_gpa = BUF_GPA;
	r.buf_len = sizeof(st);
	*ret = call(r);
	memcpy(&st, ram + BUF_GPA, sizeof(st));
	return st;
}

static int64_t path_op(uint32_t op, uint32_t mount, const char *path)
{
	return call(with_path(op, mount, path));
}

/* ---- what works ---- */

static void test_lstat_readlink(void)
{
	struct lispvm_hostfs_stat st;
	int64_t ret;
	req_t r;

	st = stat_of(RW, "file.txt", &ret);
	CHECK(ret == 0 && S_ISREG(st.mode) && st.size == 11 && st.nlink == 1);
	st = stat_of(RW, "", &ret);
	CHECK(ret == 0 && S_ISDIR(st.mode));
	st = stat_of(RW, "sub/inner.txt", &ret);
	CHECK(ret == 0 && S_ISREG(st.mode) && st.size == 5);
	/* The link itself, never its target. */
	st = stat_of(RW, "abs", &ret);
	CHECK(ret == 0 && S_ISLNK(st.mode));
	st = stat_of(RW, "missing", &ret);
	CHECK(ret == -ENOENT);

	r = with_path(LISPVM_HOSTFS_READLINK, RW, "rel");
	r.buf_gpa = BUF_GPA;
	r.buf_len = 64;
	CHECK(call(r) == 8 && memcmp(ram + BUF_GPA, "file.txt", 8) == 0);
	r.buf_len = 3; /* truncated, as readlink(2) does */
	CHECK(call(r) == 3);
	r.buf_len = 0;
	CHECK(call(r) == -EINVAL);
	r = with_path(LISPVM_HOSTFS_READLINK, RW, "file.txt");
	r.buf_gpa = BUF_GPA;
	r.buf_len = 64;
	CHECK(call(r) == -EINVAL);
}

static void test_read_file(void)
{
	struct lispvm_hostfs_stat st;
	int64_t h = open_path(RW, "file.txt", O_RDONLY, 0);
	req_t r;

	CHECK(h >= 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 0)) == 11);
	CHECK(memcmp(ram + BUF_GPA, "hello world", 11) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 5, 6)) == 5);
	CHECK(memcmp(ram + BUF_GPA, "world", 5) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 100)) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 0, 0)) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 1ULL << 63)) == -EINVAL);
	/* A read-only handle: pwrite fails as on Linux. */
	CHECK(call(on_handle(LISPVM_HOSTFS_PWRITE, h, 4, 0)) == -EBADF);
	r = on_handle(LISPVM_HOSTFS_FSTAT, h, sizeof(st), 0);
	CHECK(call(r) == 0);
	memcpy(&st, ram + BUF_GPA, sizeof(st));
	CHECK(S_ISREG(st.mode) && st.size == 11);
	r.buf_len = sizeof(st) - 1;
	CHECK(call(r) == -EINVAL);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == -EBADF);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 0)) == -EBADF);
}

static void test_write_file(void)
{
	char text[64], path[256];
	struct stat st;
	int64_t h = open_path(RW, "new.txt", O_WRONLY | O_CREAT | O_EXCL, 04755);

	CHECK(h >= 0);
	memcpy(ram + BUF_GPA, "abcdef", 6);
	CHECK(call(on_handle(LISPVM_HOSTFS_PWRITE, h, 6, 0)) == 6);
	CHECK(call(on_handle(LISPVM_HOSTFS_PWRITE, h, 2, 10)) == 2);
	CHECK(call(on_handle(LISPVM_HOSTFS_FTRUNCATE, h, 0, 4)) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_FSYNC, h, 0, 0)) == 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	host_read("new.txt", text, sizeof(text));
	CHECK(strcmp(text, "abcd") == 0);
	/* The guest cannot make set-user-ID files on the host. */
	snprintf(path, sizeof(path), "%s/new.txt", mnt);
	CHECK(stat(path, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) == 0);
	CHECK(open_path(RW, "new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) == -EEXIST);

	/* O_APPEND handles append whatever the offset. */
	h = open_path(RW, "new.txt", O_WRONLY | O_APPEND, 0);
	CHECK(h >= 0);
	memcpy(ram + BUF_GPA, "XY", 2);
	CHECK(call(on_handle(LISPVM_HOSTFS_PWRITE, h, 2, 0)) == 2);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	host_read("new.txt", text, sizeof(text));
	CHECK(strcmp(text, "abcdXY") == 0);

	h = open_path(RW, "new.txt", O_RDWR | O_TRUNC, 0);
	CHECK(h >= 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	host_read("new.txt", text, sizeof(text));
	CHECK(text[0] == '\0');
	CHECK(open_path(RW, "new.txt", O_ACCMODE, 0) == -EINVAL);
	CHECK(open_path(RW, "sub", O_WRONLY, 0) == -EISDIR);
	CHECK(open_path(RW, "file.txt", O_RDONLY | O_DIRECTORY, 0) == -ENOTDIR);
}

static void test_namespace_ops(void)
{
	char text[64], path[256];
	struct lispvm_hostfs_stat st;
	int64_t ret;

	CHECK(path_op(LISPVM_HOSTFS_MKDIR, RW, "newdir") == 0);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, RW, "newdir") == -EEXIST);
	st = stat_of(RW, "newdir", &ret);
	CHECK(ret == 0 && S_ISDIR(st.mode));
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RW, "new.txt", "newdir/moved.txt")) == 0);
	stat_of(RW, "new.txt", &ret);
	CHECK(ret == -ENOENT);
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, RW, "newdir") == -ENOTEMPTY);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "newdir") == -EISDIR);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "newdir/moved.txt") == 0);
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, RW, "newdir") == 0);
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, RW, "newdir") == -ENOENT);

	/* A symlink's target is any text, stored as given and never
	 * followed on the host. */
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, RW, "../../secret", "lnk")) == 0);
	snprintf(path, sizeof(path), "%s/lnk", mnt);
	CHECK(readlink(path, text, sizeof(text)) == 12 && memcmp(text, "../../secret", 12) == 0);
	CHECK(open_path(RW, "lnk", O_RDONLY, 0) == -ELOOP);
	/* Removing or renaming a link acts on the link. */
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RW, "lnk", "lnk2")) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "lnk2") == 0);
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, RW, "", "lnk")) == -ENOENT);

	/* The mount's root is no ordinary entry. */
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, RW, "") < 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "") < 0);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, RW, "") == -EEXIST);
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RW, "", "x")) < 0);
	stat_of(RW, "", &ret);
	CHECK(ret == 0);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads the directory `bufsize` bytes at a time, resuming at each last
 * record's d_off; returns the names seen, '/'-separated. */
static void read_dir(int64_t h, uint64_t bufsize, char *names, size_t size)
{
	uint64_t cookie = 0;
	int64_t n;

	names[0] = '\0';
	for (int rounds = 0; rounds < 100; rounds++) {
		n = call(on_handle(LISPVM_HOSTFS_GETDENTS, h, bufsize, cookie));
		CHECK(n >= 0);
		if (n <= 0)
			return;
		for (int64_t at = 0; at < n;) {
			const uint8_t *d = ram + BUF_GPA + at;
			uint16_t reclen;

			memcpy(&reclen, d + 16, sizeof(reclen));
			cookie = le64(d + 8);
			strncat(names, (const char *)d + 19, size - strlen(names) - 2);
			strcat(names, "/");
			at += reclen;
		}
	}
	CHECK(!"getdents never reached the end");
}

static bool has_name(const char *names, const char *name)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "/%s/", name);
	return strstr(names, needle) != NULL || strncmp(names, needle + 1, strlen(name) + 1) == 0;
}

static req_t times_req(uint32_t mount, const char *path, int64_t asec, int64_t ansec, int64_t msec,
		       int64_t mnsec)
{
	struct lispvm_hostfs_times t = {asec, ansec, msec, mnsec};
	req_t r = with_path(LISPVM_HOSTFS_UTIMENS, mount, path);

	memcpy(ram + BUF_GPA, &t, sizeof(t));
	r.buf_gpa = BUF_GPA;
	r.buf_len = sizeof(t);
	return r;
}

static void test_chmod_utimens(void)
{
	struct stat st, secret_before, secret_after;
	char path[256], secret[256];
	req_t r;

	snprintf(path, sizeof(path), "%s/file.txt", mnt);
	snprintf(secret, sizeof(secret), "%s/secret", base);
	CHECK(lstat(secret, &secret_before) == 0);
	r = with_path(LISPVM_HOSTFS_CHMOD, RW, "file.txt");
	r.mode = 06751; /* set-ID bits are dropped */
	CHECK(call(r) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0751);
	r.mode = 0644;
	CHECK(call(r) == 0);
	/* Never through a symlink, even one pointing outside. */
	r = with_path(LISPVM_HOSTFS_CHMOD, RW, "abs");
	r.mode = 0777;
	CHECK(call(r) == -EOPNOTSUPP);
	r = with_path(LISPVM_HOSTFS_CHMOD, RW, "up/x");
	CHECK(call(r) == -ELOOP);
	CHECK(call(with_path(LISPVM_HOSTFS_CHMOD, RO, "file.txt")) == -EROFS);

	CHECK(call(times_req(RW, "file.txt", 1000000000, 5, 1200000000, 0)) == 0);
	CHECK(stat(path, &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 5 &&
	      st.st_mtim.tv_sec == 1200000000);
	CHECK(call(times_req(RW, "file.txt", 0, LISPVM_HOSTFS_TIME_OMIT, 1300000000, 0)) == 0);
	CHECK(stat(path, &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
	      st.st_mtim.tv_sec == 1300000000);
	/* A symlink's own times, never its target's. */
	CHECK(call(times_req(RW, "abs", 1, 0, 1, 0)) == 0);
	CHECK(lstat(secret, &secret_after) == 0 &&
	      secret_after.st_mtim.tv_sec == secret_before.st_mtim.tv_sec &&
	      (secret_after.st_mode & 07777) == (secret_before.st_mode & 07777));
	CHECK(call(times_req(RW, "file.txt", 0, 1000000000, 0, 0)) == -EINVAL);
	CHECK(call(times_req(RW, "/etc/passwd", 0, 0, 0, 0)) == -EINVAL);
	CHECK(call(times_req(RO, "file.txt", 0, 0, 0, 0)) == -EROFS);
	r = times_req(RW, "file.txt", 0, 0, 0, 0);
	r.buf_len = 8;
	CHECK(call(r) == -EINVAL);
	r = times_req(RW, "file.txt", 0, 0, 0, 0);
	r.buf_gpa = RAM_SIZE - 8;
	expect_crash(r);
}

static bool host_exists(const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return lstat(path, &st) == 0;
}

static void test_link(void)
{
	char path[256];
	struct stat st;

	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RW, "file.txt", "sub/hard.txt")) == 0);
	snprintf(path, sizeof(path), "%s/sub/hard.txt", mnt);
	CHECK(stat(path, &st) == 0 && st.st_nlink == 2);
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RW, "file.txt", "sub/hard.txt")) == -EEXIST);
	/* A symlink is linked as itself, never its target outside. */
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RW, "abs", "abs2")) == 0);
	snprintf(path, sizeof(path), "%s/abs2", mnt);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RW, "file.txt", "../escaped")) == -EINVAL);
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RW, "up/x", "inside")) == -ELOOP);
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, RO, "file.txt", "x")) == -EROFS);
	CHECK(!host_exists("escaped"));
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "sub/hard.txt") == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "abs2") == 0);
}

/* A FIFO with a host writer waiting on it: refusing it must not open it
 * (that would release the writer into a pipe nobody reads). */
static void test_fifo_untouched(void)
{
	char path[256];
	int status;
	pid_t writer;

	snprintf(path, sizeof(path), "%s/fifo", mnt);
	writer = fork();
	if (writer == 0) {
		alarm(10); /* never outlive the test */
		_exit(open(path, O_WRONLY) >= 0 ? 1 : 2);
	}
	usleep(100000); /* let it block in open */
	CHECK(open_path(RW, "fifo", O_RDONLY, 0) == -ENXIO);
	CHECK(open_path(RW, "fifo", O_WRONLY | O_CREAT, 0644) == -ENXIO);
	usleep(100000);
	CHECK(waitpid(writer, &status, WNOHANG) == 0); /* still waiting */
	kill(writer, SIGKILL);
	waitpid(writer, &status, 0);
}

static void test_getdents(void)
{
	char all[512], one[512];
	int64_t h = open_path(RW, "sub", O_RDONLY | O_DIRECTORY, 0);

	CHECK(h >= 0);
	read_dir(h, 4096, all, sizeof(all));
	/* 32 bytes: one record per call, so every resume is exercised. */
	read_dir(h, 32, one, sizeof(one));
	CHECK(strlen(all) == strlen(one));
	for (size_t i = 0; i < 4; i++) {
		const char *name = (const char *[]){".", "..", "inner.txt", "upup"}[i];

		CHECK(has_name(all, name) && has_name(one, name));
	}
	CHECK(call(on_handle(LISPVM_HOSTFS_GETDENTS, h, 8, 0)) == -EINVAL);
	CHECK(call(on_handle(LISPVM_HOSTFS_GETDENTS, h, 0, 0)) == -EINVAL);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);

	h = open_path(RW, "file.txt", O_RDONLY, 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_GETDENTS, h, 4096, 0)) == -ENOTDIR);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	h = open_path(RW, "", O_RDONLY | O_DIRECTORY, 0);
	read_dir(h, 4096, all, sizeof(all));
	CHECK(has_name(all, "file.txt") && has_name(all, "sub") && !has_name(all, "secret"));
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
}

/* ---- what must not work ---- */

/* If a request opened something, what it reads is not the secret. */
static void read_and_close(int64_t h)
{
	if (h < 0)
		return;
	call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 0));
	call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0));
	CHECK(memmem(ram, sizeof(ram), SECRET, strlen(SECRET)) == NULL);
}

/* Every operation on path fails with `want`. */
static void expect_refused(const char *path, int64_t want)
{
	static const uint32_t ops[] = {LISPVM_HOSTFS_LSTAT, LISPVM_HOSTFS_READLINK,
				       LISPVM_HOSTFS_MKDIR, LISPVM_HOSTFS_UNLINK,
				       LISPVM_HOSTFS_RMDIR};
	int64_t h = open_path(RW, path, O_RDONLY, 0);

	if (h != want)
		fprintf(stderr, "open \"%s\" = %lld, want %lld\n", path, (long long)h,
			(long long)want);
	CHECK(h == want);
	read_and_close(h);
	h = open_path(RW, path, O_RDWR | O_CREAT, 0644);
	CHECK(h == want);
	read_and_close(h);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		req_t r = with_path(ops[i], RW, path);

		r.buf_gpa = BUF_GPA;
		r.buf_len = ops[i] == LISPVM_HOSTFS_LSTAT ? sizeof(struct lispvm_hostfs_stat) : 64;
		CHECK(call(r) == want);
	}
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RW, "file.txt", path)) == want);
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RW, path, "stolen")) == want);
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, RW, "x", path)) == want);
}

static void test_escapes(void)
{
	/* Absolute paths name a file of this test's own, never a system
	 * file: if the check ever regressed, the unlink, rename and symlink
	 * probes below would replace what the path names. */
	char victim[160], victim2[168];
	/* Not plain names: refused before the host looks. */
	const char *malformed[] = {"..",
				   "../secret",
				   "sub/../../secret",
				   "sub/..",
				   ".",
				   "./file.txt",
				   victim,
				   "/",
				   "sub/",
				   "sub//inner.txt",
				   "sub/./inner.txt",
				   victim2};
	/* A symlink before the last component: the host never follows it. */
	const char *through[] = {"dirlink/inner.txt", "abs/x", "up/x", "rel/x", "sub/upup/x"};
	/* A symlink as the last component: opening it is -ELOOP, whatever
	 * the flags; the guest reads the link and resolves it itself. */
	const char *last[] = {"abs", "up", "sub/upup", "rel", "dirlink", "dangle"};
	const uint32_t flags[] = {O_RDONLY, O_RDWR, O_WRONLY | O_CREAT, O_RDONLY | O_DIRECTORY,
				  O_WRONLY | O_TRUNC};

	snprintf(victim, sizeof(victim), "%s/secret", base);
	snprintf(victim2, sizeof(victim2), "/%s/secret", base);
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		expect_refused(malformed[i], -EINVAL);
	CHECK(host_exists("secret") && !host_exists("mnt/stolen"));
	for (size_t i = 0; i < sizeof(through) / sizeof(through[0]); i++)
		expect_refused(through[i], -ELOOP);
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			int64_t h = open_path(RW, last[i], flags[f], 0644);

			CHECK(h == -ELOOP);
			read_and_close(h);
		}
	}
	/* O_CREAT through a dangling link made nothing outside. */
	CHECK(!host_exists("outside-new"));

	/* Beneath the check, openat2 itself refuses to leave the mount. */
	CHECK(hostfs_path_open(fs.mounts[RW].root_fd, "../secret", O_RDONLY, 0) == -EXDEV);
	CHECK(hostfs_path_open(fs.mounts[RW].root_fd, victim, O_RDONLY, 0) == -EXDEV);
	CHECK(hostfs_path_open(fs.mounts[RW].root_fd, "sub/../../secret", O_RDONLY, 0) == -EXDEV);
	CHECK(hostfs_path_open(fs.mounts[RW].root_fd, "abs", O_RDONLY, 0) == -ELOOP);
	CHECK(hostfs_path_open(fs.mounts[RW].root_fd, "up", O_RDONLY, 0) == -ELOOP);
	CHECK(memmem(ram, sizeof(ram), SECRET, strlen(SECRET)) == NULL);
}

static void test_bad_paths(void)
{
	req_t r = with_path(LISPVM_HOSTFS_OPEN, RW, "file.txt");
	static char longest[LISPVM_HOSTFS_PATH_MAX + 1];

	r.path_len = 0;
	CHECK(call(r) == -EINVAL);
	r.path_len = 8; /* "file.txt" without its NUL */
	CHECK(call(r) == -EINVAL);
	r.path_len = 10; /* a byte past the NUL */
	CHECK(call(r) == -EINVAL);
	memcpy(ram + PATH_GPA, "file\0txt", 9); /* NUL inside */
	CHECK(call(r) == -EINVAL);
	r.path_len = UINT64_MAX;
	CHECK(call(r) == -EINVAL);

	memset(longest, 'a', sizeof(longest) - 1);
	for (size_t i = 200; i < sizeof(longest) - 1; i += 200)
		longest[i] = '/';
	r = with_path(LISPVM_HOSTFS_LSTAT, RW, longest); /* 4097 bytes with the NUL */
	r.buf_gpa = BUF_GPA;
	r.buf_len = sizeof(struct lispvm_hostfs_stat);
	CHECK(call(r) == -EINVAL);
	longest[sizeof(longest) - 2] = '\0'; /* 4096: allowed, and simply absent */
	r = with_path(LISPVM_HOSTFS_LSTAT, RW, longest);
	r.buf_gpa = BUF_GPA;
	r.buf_len = sizeof(struct lispvm_hostfs_stat);
	CHECK(call(r) == -ENOENT);
}

static void test_readonly_mount(void)
{
	char text[64];
	int64_t h = open_path(RO, "file.txt", O_RDONLY, 0);
	const uint32_t refused[] = {O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC,
				    O_WRONLY | O_APPEND};

	CHECK(h >= 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, h, 64, 0)) == 11);
	memcpy(ram + BUF_GPA, "pwned", 5);
	CHECK(call(on_handle(LISPVM_HOSTFS_PWRITE, h, 5, 0)) == -EBADF);
	CHECK(call(on_handle(LISPVM_HOSTFS_FTRUNCATE, h, 0, 0)) < 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK(open_path(RO, "file.txt", refused[i], 0644) == -EROFS);
	CHECK(open_path(RO, "brand-new", O_WRONLY | O_CREAT, 0644) == -EROFS);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, RO, "d") == -EROFS);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RO, "file.txt") == -EROFS);
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, RO, "sub") == -EROFS);
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, RO, "file.txt", "f2")) == -EROFS);
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, RO, "file.txt", "l2")) == -EROFS);
	host_read("file.txt", text, sizeof(text));
	CHECK(strcmp(text, "hello world") == 0);
}

static void test_handles_and_mounts(void)
{
	int64_t handles[LISPVM_HOSTFS_MAX_HANDLES];
	struct rlimit lim;
	int opened = 0;

	CHECK(call(on_handle(LISPVM_HOSTFS_PREAD, LISPVM_HOSTFS_MAX_HANDLES, 64, 0)) == -EBADF);
	CHECK(call(on_handle(LISPVM_HOSTFS_FSTAT, -1, sizeof(struct lispvm_hostfs_stat), 0)) ==
	      -EBADF);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, 77, 0, 0)) == -EBADF);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, 3, "x") == -ENODEV);
	CHECK(path_op(LISPVM_HOSTFS_OPEN, UINT32_MAX, "file.txt") == -ENODEV);
	CHECK(call((req_t){.op = LISPVM_HOSTFS_OP_COUNT}) == -ENOSYS);
	/* A FIFO could block the vCPU: refused, and this does not hang. */
	CHECK(open_path(RW, "fifo", O_RDONLY, 0) == -ENXIO);
	CHECK(open_path(RW, "fifo", O_WRONLY, 0) < 0);

	/* The table holds LISPVM_HOSTFS_MAX_HANDLES, then -EMFILE. */
	CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
	lim.rlim_cur = lim.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++) {
		handles[i] = open_path(RW, "file.txt", O_RDONLY, 0);
		opened += handles[i] >= 0;
	}
	CHECK(opened == LISPVM_HOSTFS_MAX_HANDLES);
	CHECK(open_path(RW, "file.txt", O_RDONLY, 0) == -EMFILE);
	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++)
		if (handles[i] >= 0 && i % 2)
			CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, handles[i], 0, 0)) == 0);
	/* The rest stay open: hostfs_close must close them. */
}

static void test_no_mounts(void)
{
	struct hypercall_context ctx = context();
	req_t r = with_path(LISPVM_HOSTFS_LSTAT, RW, "file.txt");
	struct lispvm_hypercall hc = {.nr = LISPVM_HC_HOSTFS, .args = {HREQ_GPA, sizeof(r)}};

	ctx.hostfs = NULL;
	memcpy(ram + HREQ_GPA, &r, sizeof(r));
	memcpy(ram + REQ_GPA, &hc, sizeof(hc));
	hypercall_dispatch(&ctx, REQ_GPA);
	memcpy(&hc, ram + REQ_GPA, sizeof(hc));
	CHECK(ctx.stop.kind == VM_RUNNING && hc.ret == -ENODEV);
}

/* Addresses outside guest RAM stop the VM, as for every hypercall. */
static void test_bad_addresses(void)
{
	enum vm_stop_kind stop;
	int64_t h = open_path(RW, "file.txt", O_RDONLY, 0);
	req_t r = with_path(LISPVM_HOSTFS_OPEN, RW, "file.txt");

	dispatch(&r, RAM_SIZE - 8, sizeof(r), &stop);
	CHECK(stop == VM_STOP_GUEST_CRASH);
	dispatch(&r, HREQ_GPA, sizeof(r) - 1, &stop);
	CHECK(stop == VM_STOP_GUEST_CRASH);
	dispatch(&r, HREQ_GPA, sizeof(r) + 8, &stop);
	CHECK(stop == VM_STOP_GUEST_CRASH);

	r.path_gpa = RAM_SIZE - 4;
	expect_crash(r);
	r.path_gpa = UINT64_MAX - 2;
	expect_crash(r);
	r = with_paths(LISPVM_HOSTFS_RENAME, RW, "file.txt", "x");
	r.path2_gpa = ROM_GPA + sizeof(rom); /* just past the ROM */
	expect_crash(r);

	CHECK(h >= 0);
	expect_crash((req_t){
		.op = LISPVM_HOSTFS_PREAD, .handle = h, .buf_gpa = RAM_SIZE - 4, .buf_len = 64});
	/* Guest reads land in guest memory: never in a read-only region. */
	expect_crash(
		(req_t){.op = LISPVM_HOSTFS_PREAD, .handle = h, .buf_gpa = ROM_GPA, .buf_len = 64});
	expect_crash((req_t){
		.op = LISPVM_HOSTFS_PWRITE, .handle = h, .buf_gpa = 0x7fff00000000, .buf_len = 1});
	expect_crash((req_t){.op = LISPVM_HOSTFS_FSTAT,
			     .handle = h,
			     .buf_gpa = RAM_SIZE - 8,
			     .buf_len = sizeof(struct lispvm_hostfs_stat)});
	r = with_path(LISPVM_HOSTFS_LSTAT, RW, "file.txt");
	r.buf_gpa = RAM_SIZE - 8;
	r.buf_len = sizeof(struct lispvm_hostfs_stat);
	expect_crash(r);
	r = with_path(LISPVM_HOSTFS_READLINK, RW, "rel");
	r.buf_gpa = ROM_GPA;
	r.buf_len = 64;
	expect_crash(r);
	/* Only the capped length must be in RAM: a 1 MiB read needs 1 MiB. */
	expect_crash((req_t){.op = LISPVM_HOSTFS_GETDENTS,
			     .handle = h,
			     .buf_gpa = RAM_SIZE - LISPVM_HOSTFS_IO_MAX + 1,
			     .buf_len = UINT64_MAX});
	CHECK(call((req_t){.op = LISPVM_HOSTFS_PREAD,
			   .handle = h,
			   .buf_gpa = RAM_SIZE - LISPVM_HOSTFS_IO_MAX,
			   .buf_len = UINT64_MAX}) == 11);
	CHECK(call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0)) == 0);
}

/* ---- rw,max-size ---- */

static int64_t usage_sum;

static int add_usage(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path, (void)flag, (void)ftw;
	usage_sum += (int64_t)st->st_blocks * 512;
	return 0;
}

/* The capped directory's disk usage as the host counts it. */
static int64_t cap_usage(void)
{
	usage_sum = 0;
	CHECK(nftw(capdir, add_usage, 16, FTW_PHYS) == 0);
	return usage_sum;
}

static int64_t used(void)
{
	return fs.mounts[CAP].used;
}

static int64_t write_at(int64_t h, uint64_t len, uint64_t off)
{
	memset(ram + BUF_GPA, 'x', len);
	return call(on_handle(LISPVM_HOSTFS_PWRITE, h, len, off));
}

static int64_t close_handle(int64_t h)
{
	return call(on_handle(LISPVM_HOSTFS_CLOSE, h, 0, 0));
}

/* Writes CHUNK at a time until refused: the last write that fits is
 * short, then ENOSPC; returns the bytes written. */
static uint64_t fill(int64_t h, uint64_t off, int64_t *last)
{
	uint64_t total = 0;
	bool short_seen = false;

	for (int i = 0; i < 64; i++) {
		*last = write_at(h, CHUNK, off + total);
		if (*last <= 0)
			break;
		short_seen |= *last < CHUNK;
		total += (uint64_t)*last;
	}
	CHECK(*last == -ENOSPC);
	CHECK(short_seen || total % CHUNK == 0);
	return total;
}

static void test_cap_writes(void)
{
	int64_t start = cap_usage(), h, last, before;
	uint64_t total;

	CHECK(fs.mounts[CAP].max_size == CAP_SIZE && used() == 0);
	h = open_path(CAP, "big", O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(h >= 0);
	CHECK(used() >= 4096); /* the name */
	total = fill(h, 0, &last);
	/* All of the cap but the name's block, in whole blocks. */
	CHECK(total >= CAP_SIZE - 3 * 4096 && total <= CAP_SIZE - 4096);
	CHECK(used() <= CAP_SIZE && cap_usage() - start <= CAP_SIZE);
	/* At the cap, overwriting what the file holds still works... */
	CHECK(write_at(h, 4096, 0) == 4096);
	/* ...but neither growing it nor a hole past its end does. */
	CHECK(write_at(h, 1, total) == -ENOSPC);
	CHECK(write_at(h, 1, 1 << 20) == -ENOSPC);
	CHECK(close_handle(h) == 0);

	/* Removing the file gives all of it back: the cap holds again. */
	before = used();
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "big") == 0);
	CHECK(used() <= before - (int64_t)total - 4096);
	h = open_path(CAP, "again", O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(h >= 0 && write_at(h, CHUNK, 0) == CHUNK);
	CHECK(close_handle(h) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "again") == 0);
	CHECK(cap_usage() - start <= CAP_SIZE);
}

/* O_APPEND writes at the end whatever the offset: counted there. */
static void test_cap_append(void)
{
	int64_t h = open_path(CAP, "log", O_WRONLY | O_CREAT | O_APPEND, 0644), last;
	uint64_t total;

	CHECK(h >= 0);
	total = fill(h, 0, &last);
	CHECK(total >= CAP_SIZE - 3 * 4096 && total <= CAP_SIZE - 4096);
	CHECK(close_handle(h) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "log") == 0);
}

/* A file removed while open keeps its blocks until it is closed: only then
 * are they given back. */
static void test_cap_removed_while_open(void)
{
	int64_t before = used(), h = open_path(CAP, "tmp", O_RDWR | O_CREAT, 0644), h2,
		after_unlink;

	CHECK(h >= 0 && write_at(h, CHUNK, 0) == CHUNK);
	h2 = open_path(CAP, "tmp", O_RDONLY, 0);
	CHECK(h2 >= 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "tmp") == 0);
	after_unlink = used();
	CHECK(after_unlink >= before + CHUNK); /* the name only */
	CHECK(write_at(h, 4096, CHUNK) == 4096);
	CHECK(used() >= after_unlink + 4096);
	CHECK(close_handle(h) == 0);
	CHECK(used() > before); /* h2 still holds it */
	CHECK(close_handle(h2) == 0);
	CHECK(used() == before);
}

/* Extending costs what the host allocates for it: nothing on a filesystem
 * with holes.  Writing into the hole is what costs. */
static void test_cap_truncate(void)
{
	int64_t before = used(), h = open_path(CAP, "sparse", O_RDWR | O_CREAT, 0644), last;
	uint64_t total;

	CHECK(h >= 0);
	CHECK(call(on_handle(LISPVM_HOSTFS_FTRUNCATE, h, 0, 100 << 20)) == 0);
	CHECK(used() <= before + 4096 + 4096); /* the name, the directory's growth */
	/* A sparse file: every block written is charged, even inside its
	 * size. */
	total = fill(h, 1 << 20, &last);
	CHECK(total > 0 && total <= CAP_SIZE);
	CHECK(used() <= CAP_SIZE);
	/* Shrinking gives the blocks back. */
	CHECK(call(on_handle(LISPVM_HOSTFS_FTRUNCATE, h, 0, 0)) == 0);
	CHECK(used() <= before + 2 * 4096);
	CHECK(close_handle(h) == 0);
	/* O_TRUNC too. */
	h = open_path(CAP, "sparse", O_RDWR, 0);
	CHECK(h >= 0 && write_at(h, CHUNK, 0) == CHUNK && close_handle(h) == 0);
	last = used();
	h = open_path(CAP, "sparse", O_RDWR | O_TRUNC, 0);
	CHECK(h >= 0 && close_handle(h) == 0);
	CHECK(used() <= last - CHUNK);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "sparse") == 0);
}

/* Every name costs a block, so a guest cannot fill the host's inodes:
 * empty files, directories, symlinks and hard links alike. */
static void test_cap_names(void)
{
	int64_t start = cap_usage(), before = used(), h = 0;
	int made = 0;
	char name[32];

	for (; made < 1000; made++) {
		snprintf(name, sizeof(name), "f%d", made);
		h = open_path(CAP, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (h < 0)
			break;
		CHECK(close_handle(h) == 0);
	}
	CHECK(h == -ENOSPC);
	CHECK(made > 0 && made <= CAP_SIZE / HOSTFS_NAME_COST);
	CHECK(used() <= CAP_SIZE && cap_usage() - start <= CAP_SIZE);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, CAP, "d") == -ENOSPC);
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, CAP, "f0", "l")) == -ENOSPC);
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, CAP, "f0", "hard")) == -ENOSPC);
	/* What already exists may still be opened and removed; a rename,
	 * which may grow its new directory, waits for room. */
	h = open_path(CAP, "f0", O_WRONLY | O_CREAT, 0644);
	CHECK(h >= 0 && close_handle(h) == 0);
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, CAP, "f0", "renamed")) == -ENOSPC);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "f2") == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "f3") == 0);
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, CAP, "f0", "renamed")) == 0);
	/* Over another name: that name is given back. */
	CHECK(call(with_paths(LISPVM_HOSTFS_RENAME, CAP, "f1", "renamed")) == 0);
	CHECK(path_op(LISPVM_HOSTFS_MKDIR, CAP, "d") == 0);
	CHECK(path_op(LISPVM_HOSTFS_RMDIR, CAP, "d") == 0);
	CHECK(call(with_paths(LISPVM_HOSTFS_SYMLINK, CAP, "renamed", "l")) == 0);
	CHECK(call(with_paths(LISPVM_HOSTFS_LINK, CAP, "renamed", "hard")) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "l") == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "hard") == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "renamed") == 0);
	for (int i = 4; i < made; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, name) == 0);
	}
	/* Back where it was but for what the directory grew by. */
	CHECK(used() - before == cap_usage() - start);
	CHECK(cap_usage() - start <= CAP_SIZE);
}

/* Files that were there before give no room beyond the cap when the VM
 * removes them: the counter stays at 0, and the mount grows past its
 * starting usage by the cap at most. */
static void test_cap_preexisting(void)
{
	char path[PATH_MAX];
	int64_t start, h, last;
	int fd;

	CHECK(used() == 0);
	snprintf(path, sizeof(path), "%s/old", capdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	for (int i = 0; i < 2 * CAP_SIZE / CHUNK; i++)
		CHECK(write(fd, ram + BUF_GPA, CHUNK) == CHUNK);
	CHECK(fsync(fd) == 0 && close(fd) == 0);
	start = cap_usage();
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "old") == 0);
	CHECK(used() == 0);
	h = open_path(CAP, "new", O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(h >= 0);
	CHECK(fill(h, 0, &last) <= CAP_SIZE);
	CHECK(close_handle(h) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, CAP, "new") == 0);
	CHECK(cap_usage() <= start);
	CHECK(used() == 0);
}

/* Without max-size nothing is counted or refused. */
static void test_uncapped(void)
{
	int64_t h = open_path(RW, "large", O_WRONLY | O_CREAT | O_EXCL, 0644);

	CHECK(h >= 0);
	for (int i = 0; i < 4 * CAP_SIZE / CHUNK; i++)
		CHECK(write_at(h, CHUNK, (uint64_t)i * CHUNK) == CHUNK);
	CHECK(close_handle(h) == 0);
	CHECK(path_op(LISPVM_HOSTFS_UNLINK, RW, "large") == 0);
	CHECK(fs.mounts[RW].max_size == 0 && fs.mounts[RW].used == 0);
	CHECK(fs.mounts[RO].max_size == 0);
}

int main(void)
{
	const struct guest_mount mounts[] = {
		{.host_path = mnt, .guest_path = "/data"},
		{.host_path = mnt, .guest_path = "/ro", .readonly = true},
		{.host_path = capdir, .guest_path = "/cap", .max_size = CAP_SIZE}};
	const struct guest_mount missing = {.host_path = "/nonexistent/lispvm", .guest_path = "/x"};
	struct hostfs other = {0};
	char err[256] = "", file[256];
	int fds_before;

	CHECK(guest_memory_add(&mem, 0, RAM_SIZE, ram, true) == 0);
	CHECK(guest_memory_add(&mem, ROM_GPA, sizeof(rom), rom, false) == 0);
	make_tree();
	fds_before = count_fds();
	CHECK(hostfs_open(&fs, mounts, 3, err, sizeof(err)) == 0);
	CHECK(hostfs_open(&other, &missing, 1, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "/nonexistent/lispvm");
	hostfs_close(&other);
	snprintf(file, sizeof(file), "%s/file.txt", mnt);
	CHECK(hostfs_open(&other, &(struct guest_mount){.host_path = file}, 1, err, sizeof(err)) <
	      0);
	CHECK_CONTAINS(err, "Not a directory");
	hostfs_close(&other);

	test_lstat_readlink();
	test_read_file();
	test_write_file();
	test_namespace_ops();
	test_chmod_utimens();
	test_fifo_untouched();
	test_link();
	test_getdents();
	test_escapes();
	test_bad_paths();
	test_readonly_mount();
	test_no_mounts();
	test_bad_addresses();
	test_cap_writes();
	test_cap_append();
	test_cap_removed_while_open();
	test_cap_truncate();
	test_cap_names();
	test_cap_preexisting();
	test_uncapped();
	test_handles_and_mounts();
	CHECK(memmem(ram, sizeof(ram), SECRET, strlen(SECRET)) == NULL);

	hostfs_close(&fs);
	CHECK(count_fds() == fds_before);
	CHECK(nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
	return check_result("hostfs");
}
