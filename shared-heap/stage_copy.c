/* SPDX-License-Identifier: MIT */
/* Copying host files, symlinks and directory trees into the stage. */
#define _GNU_SOURCE
#include "image_stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_copy.h"

/* Permission bits only: mkfs.erofs --all-root makes every file root's, so
 * a set-user-ID bit copied from a user's file would become a set-user-ID
 * root file wherever the image is mounted, and the guest, one program
 * with no privilege changes, has no use for set-ID or sticky bits. */
#define KEPT_MODE_BITS 0777

static bool skipped(const struct image_stage *st, const struct stat *s)
{
	for (size_t i = 0; i < st->skip_count; i++) {
		if (st->skip[i].dev == s->st_dev && st->skip[i].ino == s->st_ino)
			return true;
	}
	return false;
}

/* Returns 1 when rel is already a directory (want_dir: merge into it), 0
 * when rel is free (an earlier file or symlink there is replaced: the
 * later entry wins), -1 when a directory and a non-directory collide. */
static int make_room(struct image_stage *st, const char *host_path, const char *rel, bool want_dir)
{
	char shown[PATH_MAX + 1];
	struct stat s;

	if (fstatat(st->root_fd, rel, &s, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return image_fail(st->err, "%s: %s", host_path, strerror(errno));
	}
	stage_guest_name(rel, shown, sizeof(shown));
	if (S_ISDIR(s.st_mode) && want_dir)
		return 1;
	if (S_ISDIR(s.st_mode) || want_dir)
		return image_fail(st->err, "%s: %s is already a %s in the image", host_path, shown,
				  S_ISDIR(s.st_mode) ? "directory" : "file");
	if (unlinkat(st->root_fd, rel, 0) < 0)
		return image_fail(st->err, "%s: replacing %s: %s", host_path, shown,
				  strerror(errno));
	return 0;
}

static int fail_errno(struct image_stage *st, const char *host_path, const char *what, int err)
{
	return image_fail(st->err, "%s: %s%s", host_path, what, strerror(err));
}

static int copy_into(struct image_stage *st, const char *host_path, int src, const char *rel)
{
	struct stat s;
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}};
	int dst, rc;

	if (fstat(src, &s) < 0)
		return fail_errno(st, host_path, "", errno);
	times[1] = s.st_mtim;
	dst = openat(st->root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0)
		return fail_errno(st, host_path, "copying into the image: ", errno);
	rc = file_copy_data(src, dst);
	if (rc == 0 && fchmod(dst, s.st_mode & KEPT_MODE_BITS) < 0)
		rc = errno;
	if (rc == 0 && futimens(dst, times) < 0)
		rc = errno;
	if (close(dst) < 0 && rc == 0)
		rc = errno;
	return rc == 0 ? 0 : fail_errno(st, host_path, "copying into the image: ", rc);
}

static int place_file(struct image_stage *st, const char *host_path, const char *rel)
{
	int src, rc;

	src = open(host_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return fail_errno(st, host_path, "", errno);
	rc = make_room(st, host_path, rel, false);
	if (rc == 0)
		rc = copy_into(st, host_path, src, rel);
	close(src);
	return rc;
}

static int place_symlink(struct image_stage *st, const char *host_path, const char *rel,
			 const struct stat *hs)
{
	char target[PATH_MAX];
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, hs->st_mtim};
	ssize_t n = readlink(host_path, target, sizeof(target));

	if (n < 0 || n >= (ssize_t)sizeof(target))
		return fail_errno(st, host_path, "", n < 0 ? errno : ENAMETOOLONG);
	target[n] = '\0';
	if (make_room(st, host_path, rel, false) < 0)
		return -1;
	if (symlinkat(target, st->root_fd, rel) < 0)
		return fail_errno(st, host_path, "copying into the image: ", errno);
	if (utimensat(st->root_fd, rel, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno(st, host_path, "copying into the image: ", errno);
	return 0;
}

static int place_child(struct image_stage *st, const char *host_dir, const char *rel_dir,
		       const char *name)
{
	char *host = NULL, *rel = NULL;
	int rc;

	if (asprintf(&host, "%s/%s", host_dir, name) < 0)
		return image_fail(st->err, "out of memory");
	if (strcmp(rel_dir, ".") == 0)
		rc = asprintf(&rel, "%s", name);
	else
		rc = asprintf(&rel, "%s/%s", rel_dir, name);
	if (rc < 0) {
		free(host);
		return image_fail(st->err, "out of memory");
	}
	rc = stage_place(st, host, rel);
	free(host);
	free(rel);
	return rc;
}

static int place_dir(struct image_stage *st, const char *host_path, const char *rel,
		     const struct stat *hs)
{
	struct dirent *de;
	DIR *dir;
	int rc;

	rc = make_room(st, host_path, rel, true);
	if (rc < 0)
		return -1;
	if (rc == 0 && stage_mkdir(st, rel, hs->st_mode & KEPT_MODE_BITS, &hs->st_mtim) < 0)
		return -1;
	dir = opendir(host_path);
	if (dir == NULL)
		return fail_errno(st, host_path, "", errno);
	rc = 0;
	errno = 0;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = place_child(st, host_path, rel, de->d_name);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = fail_errno(st, host_path, "", errno);
	closedir(dir);
	return rc;
}

int stage_place(struct image_stage *st, const char *host_path, const char *rel)
{
	struct stat hs;

	if (lstat(host_path, &hs) < 0)
		return fail_errno(st, host_path, "", errno);
	if (skipped(st, &hs))
		return 0;
	if (S_ISREG(hs.st_mode))
		return place_file(st, host_path, rel);
	if (S_ISLNK(hs.st_mode))
		return place_symlink(st, host_path, rel, &hs);
	if (S_ISDIR(hs.st_mode))
		return place_dir(st, host_path, rel, &hs);
	return image_fail(st->err, "%s: not a regular file, directory or symlink", host_path);
}
