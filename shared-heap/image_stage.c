/* SPDX-License-Identifier: MIT */
/* The stage's lifetime: opening it, adding entries, directory fixups. */
#define _GNU_SOURCE
#include "image_stage.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int stage_open(struct image_stage *st, const char *root_path, struct image_error *err)
{
	memset(st, 0, sizeof(*st));
	st->err = err;
	st->root_fd = open(root_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->root_fd < 0)
		return image_fail(err, "%s: %s", root_path, strerror(errno));
	/* The image's "/" is what everything in the guest hangs from. */
	if (fchmod(st->root_fd, 0755) < 0)
		return image_fail(err, "%s: %s", root_path, strerror(errno));
	return 0;
}

void stage_skip(struct image_stage *st, const char *path)
{
	struct stat s;

	if (st->skip_count < sizeof(st->skip) / sizeof(st->skip[0]) && lstat(path, &s) == 0)
		st->skip[st->skip_count++] = (struct stage_skip){s.st_dev, s.st_ino};
}

const char *stage_guest_name(const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "/%s", strcmp(rel, ".") == 0 ? "" : rel);
	return buf;
}

int stage_mkdir(struct image_stage *st, const char *rel, mode_t mode, const struct timespec *mtime)
{
	char shown[PATH_MAX + 1];
	struct stage_fixup *fx;

	if (st->fixup_count == st->fixup_cap) {
		size_t cap = st->fixup_cap ? st->fixup_cap * 2 : 64;
		struct stage_fixup *grown = realloc(st->fixups, cap * sizeof(*grown));

		if (grown == NULL)
			return image_fail(st->err, "out of memory");
		st->fixups = grown;
		st->fixup_cap = cap;
	}
	/* Owner-only until the end: the tree is private while it is built. */
	if (mkdirat(st->root_fd, rel, 0700) < 0)
		return image_fail(st->err, "creating %s in the image: %s",
				  stage_guest_name(rel, shown, sizeof(shown)), strerror(errno));
	fx = &st->fixups[st->fixup_count];
	*fx = (struct stage_fixup){.rel = strdup(rel), .mode = mode, .has_mtime = mtime != NULL};
	if (fx->rel == NULL)
		return image_fail(st->err, "out of memory");
	if (mtime != NULL)
		fx->mtime = *mtime;
	st->fixup_count++;
	return 0;
}

/* "Same path in the image" for a relative host path means the absolute
 * path the host gives it, from the current directory. */
static int absolute_path(struct image_stage *st, const char *path, char *out)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		if (strlen(path) >= PATH_MAX)
			return image_fail(st->err, "%s: %s", path, strerror(ENAMETOOLONG));
		strcpy(out, path);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return image_fail(st->err, "%s: current directory: %s", path, strerror(errno));
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
		return image_fail(st->err, "%s: %s", path, strerror(ENAMETOOLONG));
	return 0;
}

int stage_add(struct image_stage *st, const char *host_path, const char *guest_path)
{
	char guest[PATH_MAX], dir[PATH_MAX], name[NAME_MAX + 1], rel[PATH_MAX];
	struct stat hs;

	if (lstat(host_path, &hs) < 0)
		return image_fail(st->err, "%s: %s", host_path, strerror(errno));
	if (guest_path == NULL) {
		if (absolute_path(st, host_path, guest) < 0)
			return -1;
		guest_path = guest;
	}
	if (stage_resolve(st, guest_path, dir, name) < 0)
		return -1;
	if (name[0] == '\0' && !S_ISDIR(hs.st_mode))
		return image_fail(st->err, "%s: %s names a directory in the image", host_path,
				  guest_path);
	if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", dir, dir[0] && name[0] ? "/" : "", name) >=
	    sizeof(rel))
		return image_fail(st->err, "%s: %s", guest_path, strerror(ENAMETOOLONG));
	return stage_place(st, host_path, rel[0] ? rel : ".");
}

static int next_in_chain(struct image_stage *st, char *path)
{
	char target[PATH_MAX], next[2 * PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target));

	if (n < 0 || n >= (ssize_t)sizeof(target))
		return image_fail(st->err, "%s: %s", path, strerror(n < 0 ? errno : ENAMETOOLONG));
	target[n] = '\0';
	if (target[0] == '/')
		snprintf(next, sizeof(next), "%s", target);
	else
		snprintf(next, sizeof(next), "%s/%s", dirname(path), target);
	if (strlen(next) >= PATH_MAX)
		return image_fail(st->err, "%s: %s", target, strerror(ENAMETOOLONG));
	strcpy(path, next);
	return 0;
}

/* ldd names libraries by the paths the loader will open, often symlinks
 * (libstdc++.so.6 -> libstdc++.so.6.0.30, /lib64/ld-linux-x86-64.so.2 ->
 * /lib/x86_64-linux-gnu/...): the guest needs every link and the file. */
int stage_add_chain(struct image_stage *st, const char *path)
{
	char cur[PATH_MAX];
	struct stat s;

	if (absolute_path(st, path, cur) < 0)
		return -1;
	for (int hops = 0;; hops++) {
		if (stage_add(st, cur, NULL) < 0)
			return -1;
		if (lstat(cur, &s) < 0)
			return image_fail(st->err, "%s: %s", cur, strerror(errno));
		if (!S_ISLNK(s.st_mode))
			return 0;
		if (hops == STAGE_MAX_SYMLINK_HOPS)
			return image_fail(st->err, "%s: too many levels of symbolic links", path);
		if (next_in_chain(st, cur) < 0)
			return -1;
	}
}

/* Last created first: a directory's mtime is set after its subdirectories
 * were touched, and a read-only mode after everything was written. */
int stage_finish(struct image_stage *st)
{
	char shown[PATH_MAX + 1];

	for (size_t i = st->fixup_count; i-- > 0;) {
		const struct stage_fixup *fx = &st->fixups[i];
		struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, fx->mtime};

		if (fchmodat(st->root_fd, fx->rel, fx->mode, 0) < 0 ||
		    (fx->has_mtime && utimensat(st->root_fd, fx->rel, times, 0) < 0))
			return image_fail(st->err, "%s in the image: %s",
					  stage_guest_name(fx->rel, shown, sizeof(shown)),
					  strerror(errno));
	}
	return 0;
}

void stage_close(struct image_stage *st)
{
	for (size_t i = 0; i < st->fixup_count; i++)
		free(st->fixups[i].rel);
	free(st->fixups);
	st->fixups = NULL;
	st->fixup_count = st->fixup_cap = 0;
	if (st->root_fd >= 0)
		close(st->root_fd);
	st->root_fd = -1;
}
