/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "image_build.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_error.h"
#include "image_stage.h"
#include "ldd_deps.h"
#include "mkfs_erofs.h"
#include "tree_remove.h"

int image_entry_parse(char *arg, struct image_entry *out)
{
	char *split = NULL;

	for (char *p = strchr(arg, ':'); p != NULL; p = strchr(p + 1, ':')) {
		if (p[1] == '/')
			split = p;
	}
	*out = (struct image_entry){.kind = IMAGE_ENTRY_PATH, .host_path = arg};
	if (split != NULL) {
		*split = '\0';
		out->guest_path = split + 1;
	}
	return arg[0] == '\0' ? -1 : 0;
}

/* The image is written next to output, under a temporary name, and
 * renamed over it at the end: a reader (or a VM being started) never sees
 * half an image, and a failed build leaves the old one. */
static int output_create_temp(const char *output, char *tmp, struct image_error *e)
{
	struct stat s;
	mode_t mask;
	int fd;

	if (stat(output, &s) == 0 && S_ISDIR(s.st_mode))
		return image_fail(e, "%s: is a directory", output);
	if ((size_t)snprintf(tmp, PATH_MAX, "%s.tmp.XXXXXX", output) >= PATH_MAX)
		return image_fail(e, "%s: %s", output, strerror(ENAMETOOLONG));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return image_fail(e, "%s: cannot write the image: %s", output, strerror(errno));
	/* mkstemp makes the file 0600; an image is an ordinary output file.
	 * Reading the umask means setting it: fine in a one-thread command. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	close(fd);
	return 0;
}

/* A private directory holding "root", the image's "/": private so nobody
 * can slip files into the tree between staging and mkfs.erofs. */
static int staging_create(char *staging, char *root, struct image_error *e)
{
	const char *tmpdir = getenv("TMPDIR");

	if (tmpdir == NULL || tmpdir[0] != '/' || strlen(tmpdir) > PATH_MAX - 64)
		tmpdir = "/tmp";
	snprintf(staging, PATH_MAX, "%s/lispvm-image.XXXXXX", tmpdir);
	if (mkdtemp(staging) == NULL) {
		staging[0] = '\0'; /* nothing of ours to remove */
		return image_fail(e, "creating a staging directory in %s: %s", tmpdir,
				  strerror(errno));
	}
	if ((size_t)snprintf(root, PATH_MAX, "%s/root", staging) >= PATH_MAX)
		return image_fail(e, "%s: %s", staging, strerror(ENAMETOOLONG));
	if (mkdir(root, 0700) < 0)
		return image_fail(e, "%s: %s", root, strerror(errno));
	return 0;
}

static int add_ldd_entry(struct image_stage *st, const char *binary, struct image_error *e)
{
	struct ldd_deps deps;
	int rc = 0;

	/* The binary first: a missing one is then reported as missing. */
	if (stage_add_chain(st, binary) < 0 || ldd_deps_list(binary, &deps, e) < 0)
		return -1;
	for (size_t i = 0; i < deps.count && rc == 0; i++)
		rc = stage_add_chain(st, deps.paths[i]);
	ldd_deps_free(&deps);
	return rc;
}

static int stage_entries(struct image_stage *st, const struct image_entry *entries, size_t count,
			 struct image_error *e)
{
	for (size_t i = 0; i < count; i++) {
		const struct image_entry *en = &entries[i];
		int rc;

		if (en->kind == IMAGE_ENTRY_LDD)
			rc = add_ldd_entry(st, en->host_path, e);
		else
			rc = stage_add(st, en->host_path, en->guest_path);
		if (rc < 0)
			return -1;
	}
	return stage_finish(st);
}

static int build_in(const char *staging, const char *root, const char *tmp_out,
		    const struct image_entry *entries, size_t count, struct image_error *e)
{
	struct image_stage st;
	int rc;

	if (stage_open(&st, root, e) < 0) {
		stage_close(&st);
		return -1;
	}
	stage_skip(&st, staging);
	stage_skip(&st, tmp_out);
	rc = stage_entries(&st, entries, count, e);
	stage_close(&st);
	if (rc < 0)
		return -1;
	return mkfs_erofs_run(tmp_out, root, e);
}

/* The image on stable storage before its name is: a machine that dies
 * after the rename (the helper machine's 9p writes back later) must not
 * leave a truncated image under the final name. */
static int flush_file(const char *path, struct image_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (rc < 0)
		rc = image_fail(e, "%s: cannot flush the image: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int image_build(const char *output, const struct image_entry *entries, size_t count, char *err,
		size_t err_size)
{
	struct image_error e = {err, err_size};
	char tmp_out[PATH_MAX], staging[PATH_MAX], root[PATH_MAX];
	int rc;

	if (output_create_temp(output, tmp_out, &e) < 0)
		return -1;
	rc = staging_create(staging, root, &e);
	if (rc == 0)
		rc = build_in(staging, root, tmp_out, entries, count, &e);
	/* Always, also after a failure. A staging tree that cannot be removed
	 * does not make the image any worse, so it does not fail the build. */
	if (staging[0] != '\0')
		tree_remove(staging);
	if (rc == 0)
		rc = flush_file(tmp_out, &e);
	if (rc == 0 && rename(tmp_out, output) < 0)
		rc = image_fail(&e, "%s: %s", output, strerror(errno));
	if (rc < 0)
		unlink(tmp_out);
	return rc;
}
