/* SPDX-License-Identifier: MIT */
/* Walking a guest path component by component, the way the kernel will in
 * the guest, so that each parent is what the host has at that path: a
 * symlink (Debian's merged /usr: /lib -> usr/lib) becomes the same symlink
 * in the image and the walk follows it; a directory becomes a directory
 * with the host's mode and mtime. What the image already has wins over the
 * host, so the image stays consistent with itself. */
#define _GNU_SOURCE
#include "image_stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct walk {
	const char *guest_path; /* as given, for messages */
	char dir[PATH_MAX];	/* resolved so far, relative to the root */
	char rest[PATH_MAX];	/* still to walk */
	const char *pos;	/* next component in rest */
	int hops;
};

/* Takes the next component off the walk. Returns 1 and sets *last when
 * nothing but slashes follows it, 0 when the path is used up, -1 when the
 * component is longer than a file name can be. */
static int take_component(struct walk *w, char *comp, bool *last)
{
	size_t len;

	w->pos += strspn(w->pos, "/");
	if (*w->pos == '\0')
		return 0;
	len = strcspn(w->pos, "/");
	if (len > NAME_MAX)
		return -1;
	memcpy(comp, w->pos, len);
	comp[len] = '\0';
	w->pos += len;
	*last = w->pos[strspn(w->pos, "/")] == '\0';
	return 1;
}

static void pop_dir(struct walk *w)
{
	char *slash = strrchr(w->dir, '/');

	if (slash != NULL)
		*slash = '\0';
	else
		w->dir[0] = '\0';
}

static int too_long(struct image_stage *st, const struct walk *w)
{
	return image_fail(st->err, "%s: %s", w->guest_path, strerror(ENAMETOOLONG));
}

/* Continues the walk at the symlink's target: relative targets from the
 * directory holding the link, absolute ones from the image's root. */
static int follow(struct image_stage *st, struct walk *w, const char *target)
{
	char rest[PATH_MAX];

	if (++w->hops > STAGE_MAX_SYMLINK_HOPS)
		return image_fail(st->err,
				  "%s: too many levels of symbolic links (a symlink loop?)",
				  w->guest_path);
	if (target[0] == '\0')
		return image_fail(st->err, "%s: a parent is an empty symlink", w->guest_path);
	if ((size_t)snprintf(rest, sizeof(rest), "%s/%s", target, w->pos) >= sizeof(rest))
		return too_long(st, w);
	if (target[0] == '/')
		w->dir[0] = '\0';
	memcpy(w->rest, rest, sizeof(rest));
	w->pos = w->rest;
	return 0;
}

static int read_link(struct image_stage *st, int dir_fd, const char *path, char *target,
		     const struct walk *w)
{
	ssize_t n = readlinkat(dir_fd, path, target, PATH_MAX);

	if (n < 0)
		return image_fail(st->err, "%s: reading symlink %s: %s", w->guest_path, path,
				  strerror(errno));
	if (n >= PATH_MAX)
		return too_long(st, w);
	target[n] = '\0';
	return 0;
}

/* A parent the image does not have yet: copy what the host has there. */
static int mirror_host(struct image_stage *st, struct walk *w, const char *candidate)
{
	char host[PATH_MAX + 1], target[PATH_MAX];
	struct stat hs;
	bool exists;

	snprintf(host, sizeof(host), "/%s", candidate);
	exists = lstat(host, &hs) == 0;
	if (exists && S_ISLNK(hs.st_mode)) {
		struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, hs.st_mtim};

		if (read_link(st, AT_FDCWD, host, target, w) < 0)
			return -1;
		if (symlinkat(target, st->root_fd, candidate) < 0)
			return image_fail(st->err, "%s: creating symlink %s in the image: %s",
					  w->guest_path, host, strerror(errno));
		if (utimensat(st->root_fd, candidate, times, AT_SYMLINK_NOFOLLOW) < 0)
			return image_fail(st->err, "%s: %s in the image: %s", w->guest_path, host,
					  strerror(errno));
		return follow(st, w, target);
	}
	if (exists && S_ISDIR(hs.st_mode)) {
		if (stage_mkdir(st, candidate, hs.st_mode & 0777, &hs.st_mtim) < 0)
			return -1;
	} else if (stage_mkdir(st, candidate, 0755, NULL) < 0) {
		return -1;
	}
	memcpy(w->dir, candidate, strlen(candidate) + 1);
	return 0;
}

static int descend(struct image_stage *st, struct walk *w, const char *comp)
{
	char candidate[PATH_MAX], target[PATH_MAX], shown[PATH_MAX + 1];
	struct stat ss;

	if ((size_t)snprintf(candidate, sizeof(candidate), "%s%s%s", w->dir, w->dir[0] ? "/" : "",
			     comp) >= sizeof(candidate))
		return too_long(st, w);
	if (fstatat(st->root_fd, candidate, &ss, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return image_fail(st->err, "%s: %s", w->guest_path, strerror(errno));
		return mirror_host(st, w, candidate);
	}
	if (S_ISDIR(ss.st_mode)) {
		memcpy(w->dir, candidate, sizeof(candidate));
		return 0;
	}
	if (S_ISLNK(ss.st_mode)) {
		if (read_link(st, st->root_fd, candidate, target, w) < 0)
			return -1;
		return follow(st, w, target);
	}
	return image_fail(st->err, "%s: %s is a file in the image, not a directory", w->guest_path,
			  stage_guest_name(candidate, shown, sizeof(shown)));
}

int stage_resolve(struct image_stage *st, const char *guest_path, char *dir, char *name)
{
	struct walk w = {.guest_path = guest_path};
	char comp[NAME_MAX + 1];
	bool last = false;
	int rc;

	if (guest_path[0] != '/')
		return image_fail(st->err, "%s: the path in the image must be absolute",
				  guest_path);
	if (strlen(guest_path) >= sizeof(w.rest))
		return too_long(st, &w);
	strcpy(w.rest, guest_path);
	w.pos = w.rest;
	name[0] = '\0';
	while ((rc = take_component(&w, comp, &last)) > 0) {
		if (strcmp(comp, "..") == 0)
			pop_dir(&w);
		else if (strcmp(comp, ".") != 0 && last)
			strcpy(name, comp);
		else if (strcmp(comp, ".") != 0 && descend(st, &w, comp) < 0)
			return -1;
		if (last)
			break;
	}
	if (rc < 0)
		return too_long(st, &w);
	strcpy(dir, w.dir);
	return 0;
}
