/* SPDX-License-Identifier: MIT */
/*
 * --mount host directories (vmm/hostfs.c, vmm/hostfs_path.c) against a
 * hostile guest, on a real tree: mount 0 (read-write) and mount 1
 * (read-only) hold files, directories, a FIFO and symlinks that leave the
 * mount (relative, absolute, a loop); a file full of a canary sits next
 * to them.  An input is a script of requests: every operation (and one
 * past the last), any mount number, handles the VMM gave out or any
 * other, paths from a list of tricky ones ("..", "//", "up/x",
 * "../outside/secret"...) or any bytes with any length, any flags,
 * modes, offsets and buffer lengths, requests and buffers placed near
 * the edges of guest memory.
 *
 * After each input: nothing outside mount 0 changed (names, modes,
 * sizes, link counts, mtimes and ctimes of everything else under the
 * tree), no set-ID bit appeared in mount 0, and the canary never reached
 * guest memory (unless the input itself carries it).  Mount 0 is then
 * made afresh.
 */
#define _GNU_SOURCE /* memmem, O_PATH, mkfifoat */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "fuzz_guest_memory.h"
#include "hostfs.h"

#define MAX_STEPS   48
#define MAX_HANDLES 8
#define CANARY	    "lispvm-fuzz-canary-5e1d09"
#define REQ_GPA	    0x0ull
#define PATH_GPA    0x1000ull
#define PATH2_GPA   0x3000ull
#define BUF_GPA	    0x8000ull
#define DIGEST_MAX  8192

static struct fuzz_guest guest;
static char root[64], secret[128];
static int root_fd;
static char digest_before[DIGEST_MAX];

_Noreturn static void die(const char *what)
{
	perror(what);
	abort();
}

/* mount 0 or 1's contents, as the input finds them. */
static void make_mount(const char *name)
{
	int fd;

	if (mkdirat(root_fd, name, 0755) < 0 || (fd = openat(root_fd, name, O_DIRECTORY)) < 0)
		die(name);
	if (mkdirat(fd, "d", 0755) < 0 || mkdirat(fd, "d/e", 0755) < 0 ||
	    symlinkat("../outside/secret", fd, "up") < 0 || symlinkat(secret, fd, "abs") < 0 ||
	    symlinkat("loop", fd, "loop") < 0 || mkfifoat(fd, "p", 0644) < 0)
		die(name);
	int f = openat(fd, "f", O_WRONLY | O_CREAT, 0644);

	if (f < 0 || write(f, "hello", 5) != 5)
		die(name);
	close(f);
	close(fd);
}

/* Removes everything under dirfd (and closes it), whatever the guest did
 * to the modes. */
static void empty_dir(int dirfd)
{
	DIR *dir = fdopendir(dirfd);
	struct dirent *e;

	if (dir == NULL)
		die("fdopendir");
	while ((e = readdir(dir)) != NULL) {
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		fchmodat(dirfd, e->d_name, 0700, 0);
		sub = openat(dirfd, e->d_name, O_DIRECTORY | O_NOFOLLOW);
		if (sub < 0)
			die(e->d_name);
		empty_dir(sub);
		if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
			die(e->d_name);
	}
	closedir(dir);
}

/* Everything under dirfd but skip: names, types, modes, sizes, link
 * counts, mtimes, ctimes (atimes move on reads). */
static void digest(int dirfd, const char *skip, char *out, size_t *len)
{
	DIR *dir = fdopendir(dirfd);
	struct dirent *e;

	if (dir == NULL)
		die("fdopendir");
	while ((e = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (skip != NULL && strcmp(e->d_name, skip) == 0))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die(e->d_name);
		*len += (size_t)snprintf(out + *len, DIGEST_MAX - *len,
					 "%s %o %lld %lu %lld.%ld %lld.%ld\n", e->d_name,
					 st.st_mode, (long long)st.st_size, st.st_nlink,
					 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
					 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
		if (*len >= DIGEST_MAX)
			fuzz_fail("the tree outside the mount grew");
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_DIRECTORY | O_NOFOLLOW);

			if (sub < 0)
				die(e->d_name);
			digest(sub, NULL, out, len);
		}
	}
	closedir(dir);
}

static void digest_tree(char *out)
{
	size_t len = 0;

	digest(openat(root_fd, ".", O_DIRECTORY), "rw", out, &len);
}

/* No set-user-ID or set-group-ID file or directory from the guest. */
static void check_no_setid(int dirfd)
{
	DIR *dir = fdopendir(dirfd);
	struct dirent *e;

	if (dir == NULL)
		die("fdopendir");
	while ((e = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_mode & (S_ISUID | S_ISGID))
			fuzz_fail("a set-ID bit in the mount");
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_DIRECTORY | O_NOFOLLOW);

			if (sub >= 0)
				check_no_setid(sub);
		}
	}
	closedir(dir);
}

static void remove_root(void)
{
	empty_dir(openat(root_fd, ".", O_DIRECTORY));
	rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int fd;

	(void)argc;
	(void)argv;
	fuzz_guest_init(&guest);
	snprintf(root, sizeof(root), "%s/lispvm-fuzz-hostfs-XXXXXX", tmp);
	if (mkdtemp(root) == NULL || (root_fd = open(root, O_DIRECTORY | O_CLOEXEC)) < 0)
		die(root);
	snprintf(secret, sizeof(secret), "%s/outside/secret", root);
	if (mkdirat(root_fd, "outside", 0755) < 0 ||
	    (fd = openat(root_fd, "outside/secret", O_WRONLY | O_CREAT, 0600)) < 0 ||
	    write(fd, CANARY, strlen(CANARY)) != (ssize_t)strlen(CANARY))
		die(secret);
	close(fd);
	atexit(remove_root);
	make_mount("rw");
	make_mount("ro");
	digest_tree(digest_before);
	return 0;
}

/* Where the harness puts a path: the usual place, or anywhere. */
static uint64_t put_path(struct fuzz_input *in, uint64_t usual, uint64_t *len)
{
	static const char *const tricky[] = {
		"",	 "f",
		"d",	 "d/e",
		"up",	 "up/x",
		"abs",	 "p",
		"loop",	 "new",
		"d/new", "..",
		".",	 "d/..",
		"/f",	 "f/",
		"d//e",	 "../ro/f",
		"f/x",	 "d/e/..",
		"d/./e", "../outside/secret",
	};
	uint8_t how = fuzz_u8(in);
	uint64_t gpa = how & 1 ? fuzz_edge(in) : usual;
	char path[LISPVM_HOSTFS_PATH_MAX + 16];
	size_t n;

	if (how & 2) {
		const uint8_t *bytes;

		n = fuzz_take(in, fuzz_u16(in) % sizeof(path), &bytes);
		memcpy(path, bytes, n);
	} else {
		const char *t = tricky[fuzz_u8(in) % (sizeof(tricky) / sizeof(tricky[0]))];

		n = strlen(t);
		memcpy(path, t, n);
	}
	path[n] = '\0';
	fuzz_guest_put(&guest, gpa, path, n + 1);
	*len = how & 4 ? fuzz_edge(in) : n + 1;
	return gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint64_t handles[MAX_HANDLES] = {0};
	unsigned int nr_handles = 0;
	char err[256], rw[96], ro[96], digest_after[DIGEST_MAX];
	struct hostfs fs = {0};
	int fd;

	snprintf(rw, sizeof(rw), "%s/rw", root);
	snprintf(ro, sizeof(ro), "%s/ro", root);
	/* Mount 0 has a size cap, so that the counting (vmm/hostfs_quota.c)
	 * meets hostile requests too. */
	if (hostfs_open(&fs,
			(struct guest_mount[]){
				{.host_path = rw, .guest_path = "/rw", .max_size = 1 << 20},
				{.host_path = ro, .guest_path = "/ro", .readonly = true}},
			2, err, sizeof(err)) < 0)
		fuzz_fail(err);
	fuzz_guest_reset(&guest);
	for (int step = 0; step < MAX_STEPS && !fuzz_done(&in); step++) {
		uint8_t how = fuzz_u8(&in), h = fuzz_u8(&in);
		struct lispvm_hostfs_req req = {0};
		uint64_t req_gpa, req_size;
		bool broken = false;
		const uint8_t *bytes;
		size_t n;
		int64_t ret;

		/* One field at a time: the order the input is read in is fixed. */
		req.op = fuzz_u8(&in) % (LISPVM_HOSTFS_OP_COUNT + 1);
		req.mount = fuzz_u8(&in) % 3;
		req.handle = h < 0xf0 && nr_handles ? handles[h % nr_handles] : fuzz_edge(&in);
		req.flags = fuzz_u32(&in);
		req.mode = fuzz_u16(&in);
		req.offset = how & 1 ? fuzz_edge(&in) : fuzz_u16(&in);
		req.buf_gpa = how & 2 ? fuzz_edge(&in) : BUF_GPA;
		req.buf_len = how & 4 ? fuzz_edge(&in) : fuzz_u16(&in) % 0x2000;
		req_gpa = how & 8 ? fuzz_edge(&in) : REQ_GPA;
		req_size = how & 16 ? fuzz_edge(&in) : sizeof(req);
		req.path_gpa = put_path(&in, PATH_GPA, &req.path_len);
		req.path2_gpa = put_path(&in, PATH2_GPA, &req.path2_len);
		/* UTIMENS's times, or what a write writes. */
		n = fuzz_take(&in, fuzz_u8(&in), &bytes);
		fuzz_guest_put(&guest, req.buf_gpa, bytes, n);
		fuzz_guest_put(&guest, req_gpa, &req, sizeof(req));
		ret = hostfs_serve(&fs, &guest.mem, req_gpa, req_size, &broken);
		if (req.op == LISPVM_HOSTFS_OPEN && ret >= 0 && nr_handles < MAX_HANDLES)
			handles[nr_handles++] = (uint64_t)ret;
	}
	if (memmem(data, size, CANARY, strlen(CANARY)) == NULL)
		for (unsigned int i = 0; i < GUEST_MEMORY_MAX_REGIONS && guest.host[i]; i++)
			if (memmem(guest.host[i], guest.mem.regions[i].size, CANARY,
				   strlen(CANARY)) != NULL)
				fuzz_fail("the secret next to the mounts reached guest memory");
	hostfs_close(&fs);
	digest_tree(digest_after);
	if (strcmp(digest_before, digest_after) != 0) {
		fprintf(stderr, "before:\n%s\nafter:\n%s", digest_before, digest_after);
		fuzz_fail("something outside the read-write mount changed");
	}
	if ((fd = openat(root_fd, "rw", O_DIRECTORY)) < 0)
		die("rw");
	check_no_setid(fd);
	empty_dir(openat(root_fd, "rw", O_DIRECTORY));
	if (unlinkat(root_fd, "rw", AT_REMOVEDIR) < 0)
		die("rw");
	make_mount("rw");
	return 0;
}
