/* SPDX-License-Identifier: MIT */
#include "sbcl_image.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content_cache.h"
#include "image_build.h"
#include "image_slots.h"
#include "make_dirs.h"

/* Bump when what goes into the image changes. */
#define IMAGE_RECIPE "lispvm-sbcl-image-2"
#define CORE_RECIPE  "lispvm-core-image-2"

static const char *const identity_paths[] = {
	SBCL_BINARY,
	SBCL_LIBRARY "/sbcl.core",
	SBCL_LIBRARY "/contrib",
	SBCL_LIBRARY,
};

/* Lisp libraries: dpkg adds and replaces files by renaming them into
 * place, which changes the mtime of the directory holding them, so the
 * directories two levels down (source/alexandria, systems) say when a
 * cl-* package came, went or changed. */
static const char *const library_roots[] = {
	LISP_LIBRARIES_DIR,
	LISP_LIBRARIES_DIR "/source",
	LISP_LIBRARIES_DIR "/systems",
};

int lisp_cache_dir(const char *option, char *out, size_t size, char *err, size_t err_size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char cwd[PATH_MAX];
	int n;

	/* Absolute: it reaches the host's SBCL as XDG_CACHE_HOME (the attach
	 * agent's build), where ASDF refuses a relative path. */
	if (option != NULL && option[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		n = snprintf(out, size, "%s/%s", cwd, option);
	else if (option != NULL)
		n = snprintf(out, size, "%s", option);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, size, "%s/lispvm", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, size, "%s/.cache/lispvm", home);
	else
		n = snprintf(out, size, "/var/cache/lispvm");
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, err_size, "cache directory path too long");
		return -1;
	}
	return make_dirs(out, err, err_size);
}

/* Size and modification time, not device and inode numbers: the helper
 * machine sees the host's files over 9p with numbers of its own, and an
 * image built on either side must serve the other (a cache both share
 * took each other's image for a stale one and rebuilt it).  dpkg gives
 * each installed file its package's mtime, so an upgrade changes it. */
static uint64_t hash_identity(uint64_t h, const struct stat *st)
{
	uint64_t fields[3] = {(uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
			      (uint64_t)st->st_mtim.tv_nsec};

	return content_hash(h, fields, sizeof(fields));
}

/* A missing library directory is part of the identity too (nothing
 * installed yet). */
static uint64_t hash_library_dir(uint64_t h, const char *dir, bool descend)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char path[4096];

	if (stat(dir, &st) < 0)
		return content_hash(h, dir, strlen(dir));
	h = hash_identity(h, &st);
	if (!descend || (d = opendir(dir)) == NULL)
		return h;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			h = hash_identity(content_hash(h, e->d_name, strlen(e->d_name)), &st);
	closedir(d);
	return h;
}

/* readdir order is stable for an unchanged directory, so the key is too. */
int sbcl_identity_key(uint64_t *key, char *err, size_t err_size)
{
	uint64_t h = content_hash(CONTENT_HASH_INIT, IMAGE_RECIPE, sizeof(IMAGE_RECIPE));

	for (size_t i = 0; i < sizeof(identity_paths) / sizeof(identity_paths[0]); i++) {
		struct stat st;

		if (stat(identity_paths[i], &st) < 0) {
			snprintf(err, err_size,
				 "SBCL is not installed: %s: %s (apt-get install sbcl, or "
				 "tools/setup)",
				 identity_paths[i], strerror(errno));
			return -1;
		}
		h = hash_identity(h, &st);
	}
	for (size_t i = 0; i < sizeof(library_roots) / sizeof(library_roots[0]); i++)
		h = hash_library_dir(h, library_roots[i], i > 0);
	*key = h;
	return 0;
}

/* Images of SBCL versions no longer installed (or of a core's old
 * versions): the names starting with prefix, except keep. */
static void remove_stale_images(const char *dir, const char *prefix, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || n < 6 ||
		    strcmp(e->d_name + n - 6, ".erofs") != 0 || strcmp(e->d_name, keep) == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
			unlink(path);
	}
	closedir(d);
}

static int build_image(const char *path, char *err, size_t err_size)
{
	const struct image_entry entries[] = {
		{.kind = IMAGE_ENTRY_LDD, .host_path = SBCL_BINARY},
		{.kind = IMAGE_ENTRY_PATH, .host_path = SBCL_LIBRARY},
		{.kind = IMAGE_ENTRY_PATH, .host_path = LISP_LIBRARIES_DIR},
	};
	size_t count = sizeof(entries) / sizeof(entries[0]);

	if (access(LISP_LIBRARIES_DIR, X_OK) < 0)
		count--;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "lispvm: packing SBCL and its libraries into %s (once)\n", path);
	return image_build(path, entries, count, err, err_size);
}

/* Holds dir's build lock (until the descriptor is closed): one lispvm
 * builds an image at a time, and the others then find it made.  Without
 * it, VMs started together each built the image and renamed it over the
 * one another had just mapped, and over the helper machine's 9p a reader
 * then saw the replaced file's size. */
static int lock_builds(const char *dir, char *err, size_t err_size)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/.build.lock", dir) >= sizeof(path)) {
		snprintf(err, err_size, "cache directory path too long");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		snprintf(err, err_size, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Whether path is a whole image: one that a machine which died while
 * writing it cut short is built again. */
static bool image_usable(const char *path)
{
	char why[512];

	return access(path, R_OK) == 0 && image_file_check(path, why, sizeof(why)) == 0;
}

/* cache_dir/images/name into out; -1 with err when too long. */
static int image_path(const char *cache_dir, const char *name, char *dir, size_t dir_size,
		      char *out, size_t size, char *err, size_t err_size)
{
	if ((size_t)snprintf(dir, dir_size, "%s/images", cache_dir) >= dir_size ||
	    (size_t)snprintf(out, size, "%s/%s", dir, name) >= size) {
		snprintf(err, err_size, "cache directory path too long");
		return -1;
	}
	return 0;
}

int sbcl_image_ensure(const char *cache_dir, char *out, size_t size, char *err, size_t err_size)
{
	char dir[4096], name[64];
	uint64_t key;
	int lock;

	if (sbcl_identity_key(&key, err, err_size) < 0)
		return -1;
	snprintf(name, sizeof(name), "sbcl-%016" PRIx64 ".erofs", key);
	if (image_path(cache_dir, name, dir, sizeof(dir), out, size, err, err_size) < 0)
		return -1;
	if (image_usable(out))
		return 0;
	if (make_dirs(dir, err, err_size) < 0 || (lock = lock_builds(dir, err, err_size)) < 0)
		return -1;
	if (!image_usable(out)) {
		if (build_image(out, err, err_size) < 0) {
			close(lock);
			return -1;
		}
		remove_stale_images(dir, "sbcl-", name);
	}
	close(lock);
	return 0;
}

/* The core alone, in SBCL_GUEST_CORES: an image per core file, named by
 * a hash of the path and of the file's identity, so a rebuilt core makes a
 * new image (and the old one goes) while other cores keep theirs. */
int sbcl_core_image_ensure(const char *cache_dir, const char *core, char *guest_core,
			   size_t guest_size, char *out, size_t size, char *err, size_t err_size)
{
	const char *base = strrchr(core, '/') ? strrchr(core, '/') + 1 : core;
	const struct image_entry entry = {
		.kind = IMAGE_ENTRY_PATH, .host_path = core, .guest_path = guest_core};
	char dir[4096], name[80], prefix[32];
	uint64_t path_key = content_hash(CONTENT_HASH_INIT, CORE_RECIPE, sizeof(CORE_RECIPE));
	struct stat st;
	int lock;

	if ((size_t)snprintf(guest_core, guest_size, "%s/%s", SBCL_GUEST_CORES, base) >=
	    guest_size) {
		snprintf(err, err_size, "%s: name too long", core);
		return -1;
	}
	if (stat(core, &st) < 0) {
		snprintf(err, err_size, "%s: %s", core, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", core);
		return -1;
	}
	path_key = content_hash(path_key, core, strlen(core));
	snprintf(prefix, sizeof(prefix), "core-%016" PRIx64 "-", path_key);
	snprintf(name, sizeof(name), "%s%016" PRIx64 ".erofs", prefix,
		 hash_identity(path_key, &st));
	if (image_path(cache_dir, name, dir, sizeof(dir), out, size, err, err_size) < 0)
		return -1;
	if (image_usable(out))
		return 0;
	if (make_dirs(dir, err, err_size) < 0 || (lock = lock_builds(dir, err, err_size)) < 0)
		return -1;
	if (!image_usable(out)) {
		if (image_build(out, &entry, 1, err, err_size) < 0) {
			close(lock);
			return -1;
		}
		remove_stale_images(dir, prefix, name);
	}
	close(lock);
	return 0;
}
