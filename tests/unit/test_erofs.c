// SPDX-License-Identifier: MIT
// The guest's EROFS reader (guest-runtime/fs/erofs.c) built for the host:
// every file, directory and symlink of a tree packed by `lispvm image
// build` reads back exactly as the host has it, and thousands of corrupted
// copies of the image are read without one access outside the image (run
// under ASan, which sees the image as an exact-size heap block).
// Usage: test_erofs IMAGE HOSTDIR GUESTDIR
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fs/erofs.h"

#define FUZZ_ROUNDS   3000
#define FUZZ_MAX_WALK 20000 /* inodes visited per corrupted image */

static uint8_t *load(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	uint8_t *buf;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		exit(1);
	}
	*size = (uint64_t)st.st_size;
	buf = malloc(*size);
	if (buf == NULL || read(fd, buf, *size) != (ssize_t)*size) {
		perror(path);
		exit(1);
	}
	close(fd);
	return buf;
}

static int lookup_path(const struct erofs *fs, const char *path, struct erofs_inode *out)
{
	char copy[PATH_MAX];
	uint64_t nid = fs->root_nid;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *name = strtok(copy, "/"); name; name = strtok(NULL, "/")) {
		struct erofs_inode dir;
		int rc = erofs_read_inode(fs, nid, &dir);

		if (rc == 0)
			rc = erofs_lookup(fs, &dir, name, strlen(name), &nid);
		if (rc < 0)
			return rc;
	}
	return erofs_read_inode(fs, nid, out);
}

struct names {
	char list[1024][NAME_MAX + 1];
	int n;
};

static int collect(void *ctx, const char *name, size_t len, uint64_t nid, unsigned int type,
		   uint64_t next)
{
	struct names *names = ctx;

	(void)nid;
	(void)type;
	(void)next;
	if ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)))
		return 0;
	if (names->n < 1024)
		snprintf(names->list[names->n++], NAME_MAX + 1, "%.*s", (int)len, name);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void compare_file(const struct erofs *fs, const struct erofs_inode *ino, const char *host)
{
	uint64_t size;
	uint8_t *want = load(host, &size), *got = malloc(size + 1);

	CHECK(ino->size == size);
	CHECK(erofs_read(fs, ino, 0, got, size + 1) == (int64_t)size);
	CHECK(memcmp(got, want, size) == 0);
	if (size > 5000) { /* a read across a block boundary, from the middle */
		CHECK(erofs_read(fs, ino, 4000, got, 200) == 200);
		CHECK(memcmp(got, want + 4000, 200) == 0);
	}
	/* Whole blocks are in the image at their page offsets (mmap). */
	if (size >= 4096 && ino->layout == EROFS_INODE_FLAT_PLAIN)
		CHECK(erofs_page_offset(fs, ino, 0) >= 0 &&
		      memcmp(fs->base + erofs_page_offset(fs, ino, 0), want, 4096) == 0);
	free(want);
	free(got);
}

/* Compares guest path `guest` with host path `host`, recursively. */
static void compare_tree(const struct erofs *fs, const char *guest, const char *host)
{
	struct erofs_inode ino;
	struct stat st;
	static struct names got, want;

	if (lookup_path(fs, guest, &ino) != 0) {
		fprintf(stderr, "cannot look up %s\n", guest);
		check_failures++;
		return;
	}
	CHECK(lstat(host, &st) == 0);
	CHECK((ino.mode & S_IFMT) == (st.st_mode & S_IFMT));
	CHECK((ino.mode & 07777) == (st.st_mode & 07777));
	if (S_ISREG(st.st_mode)) {
		compare_file(fs, &ino, host);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX], buf[PATH_MAX];
		ssize_t n = readlink(host, target, sizeof(target));

		CHECK(erofs_read(fs, &ino, 0, buf, sizeof(buf)) == n && !memcmp(buf, target, n));
	} else if (S_ISDIR(st.st_mode)) {
		uint64_t cookie = 0;
		DIR *d = opendir(host);
		struct dirent *e;
		char names[1024][NAME_MAX + 1];
		int n;

		got.n = want.n = 0;
		CHECK(erofs_readdir(fs, &ino, &cookie, collect, &got) == 0);
		while ((e = readdir(d)) != NULL)
			collect(&want, e->d_name, strlen(e->d_name), 0, 0, 0);
		closedir(d);
		qsort(got.list, got.n, sizeof(got.list[0]), name_cmp);
		qsort(want.list, want.n, sizeof(want.list[0]), name_cmp);
		CHECK(got.n == want.n && !memcmp(got.list, want.list, sizeof(got.list[0]) * got.n));
		n = want.n;
		memcpy(names, want.list, sizeof(names[0]) * n);
		for (int i = 0; i < n; i++) {
			char g[PATH_MAX], h[PATH_MAX];

			snprintf(g, sizeof(g), "%.3000s/%.255s", guest, names[i]);
			snprintf(h, sizeof(h), "%.3000s/%.255s", host, names[i]);
			compare_tree(fs, g, h);
		}
		CHECK(erofs_lookup(fs, &ino, "no-such-name", 12, &(uint64_t){0}) == -ENOENT);
	}
}

/* ---- corrupted images: read everything reachable, check nothing ---- */

struct walk_state {
	const struct erofs *fs;
	int visited;
	int depth;
};

static void walk_any(struct walk_state *w, uint64_t nid);

static int visit(void *ctx, const char *name, size_t len, uint64_t nid, unsigned int type,
		 uint64_t next)
{
	struct walk_state *w = ctx;
	struct erofs_inode dir;
	uint64_t found;

	(void)type;
	(void)next;
	if (++w->visited > FUZZ_MAX_WALK)
		return 1;
	if ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)))
		return 0;
	if (erofs_read_inode(w->fs, nid, &dir) == 0 && S_ISDIR(dir.mode))
		erofs_lookup(w->fs, &dir, name, len, &found);
	walk_any(w, nid);
	return 0;
}

static void walk_any(struct walk_state *w, uint64_t nid)
{
	struct erofs_inode ino;
	uint8_t buf[8192];

	if (w->depth > 8 || erofs_read_inode(w->fs, nid, &ino) < 0)
		return;
	erofs_read(w->fs, &ino, 0, buf, sizeof(buf));
	erofs_read(w->fs, &ino, ino.size > 100 ? ino.size - 100 : 0, buf, sizeof(buf));
	erofs_page_offset(w->fs, &ino, 0);
	if (S_ISDIR(ino.mode)) {
		uint64_t cookie = 0, found;

		erofs_lookup(w->fs, &ino, "a", 1, &found);
		w->depth++;
		erofs_readdir(w->fs, &ino, &cookie, visit, w);
		w->depth--;
	}
}

static void fuzz(const uint8_t *image, uint64_t size)
{
	unsigned int seed = 12345;
	int mounted = 0;

	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		uint8_t *copy = malloc(size);
		/* Metadata lives in the first blocks; corrupt it mostly there. */
		uint64_t span = size < 65536 ? size : 65536;
		struct erofs fs;

		memcpy(copy, image, size);
		for (int k = 1 + rand_r(&seed) % 8; k > 0; k--)
			copy[(uint64_t)rand_r(&seed) % (round % 4 ? span : size)] =
				(uint8_t)rand_r(&seed);
		if (erofs_mount(&fs, copy, size) == 0) {
			struct walk_state w = {.fs = &fs};

			mounted++;
			walk_any(&w, fs.root_nid);
		}
		free(copy);
	}
	CHECK(mounted > FUZZ_ROUNDS / 2); /* most corruptions reach the walk */
	/* Truncated images: every length up to the superblock and beyond. */
	for (uint64_t len = 0; len < size; len += len < 2048 ? 97 : 4093) {
		uint8_t *copy = malloc(len ? len : 1);
		struct erofs fs;

		memcpy(copy, image, len);
		if (erofs_mount(&fs, copy, len) == 0) {
			struct walk_state w = {.fs = &fs};

			walk_any(&w, fs.root_nid);
		}
		free(copy);
	}
}

int main(int argc, char **argv)
{
	uint64_t size;
	uint8_t *image;
	struct erofs fs, short_fs;

	if (argc != 4) {
		fprintf(stderr, "usage: test_erofs IMAGE HOSTDIR GUESTDIR\n");
		return 2;
	}
	image = load(argv[1], &size);
	CHECK(erofs_mount(&fs, image, size) == 0);
	CHECK(erofs_mount(&short_fs, image, 1000) == -EUCLEAN);
	compare_tree(&fs, argv[3], argv[2]);
	fuzz(image, size);
	free(image);
	return check_result("erofs");
}
