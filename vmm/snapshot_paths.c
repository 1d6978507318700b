/* SPDX-License-Identifier: MIT */
#include "snapshot_paths.h"

#include <stdio.h>
#include <string.h>

/* A NUL-terminated absolute path in a fixed field of the file. */
static bool path_field_ok(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL && field[0] == '/';
}

static int corrupt(const char *path, const char *what, char *err, size_t err_size)
{
	snprintf(err, err_size, "snapshot %s: corrupt %s", path, what);
	return -1;
}

static int read_machine(const struct snapshot_file *f, struct snapshot_paths *out, char *err,
			size_t err_size)
{
	struct snapshot_machine m;

	if (snapshot_file_read(f, SNAPSHOT_SECTION_MACHINE, &m, sizeof(m), err, err_size) < 0)
		return -1;
	if (m.nr_images > GUEST_MAX_IMAGES || m.nr_mounts > GUEST_MAX_MOUNTS)
		return corrupt(f->path, "machine section", err, err_size);
	for (unsigned int i = 0; i < m.nr_images; i++) {
		if (!path_field_ok(m.images[i].path, sizeof(m.images[i].path)))
			return corrupt(f->path, "image list", err, err_size);
		strcpy(out->images[i], m.images[i].path);
	}
	out->nr_images = m.nr_images;
	if (!(f->header.flags & SNAPSHOT_FLAG_RUNNING))
		return 0;
	for (unsigned int i = 0; i < m.nr_mounts; i++) {
		if (!path_field_ok(m.mounts[i].host_path, sizeof(m.mounts[i].host_path)))
			return corrupt(f->path, "mount list", err, err_size);
		strcpy(out->mounts[i], m.mounts[i].host_path);
		out->mount_readonly[i] = m.mounts[i].readonly != 0;
	}
	out->nr_mounts = m.nr_mounts;
	return 0;
}

/* The base a diff names (its section `kind`), into next. */
static int read_base(const struct snapshot_file *f, uint32_t kind, char *next, char *err,
		     size_t err_size)
{
	struct snapshot_base named;

	if (snapshot_file_read(f, kind, &named, sizeof(named), err, err_size) < 0)
		return -1;
	if (!path_field_ok(named.path, sizeof(named.path)))
		return corrupt(f->path, "base name", err, err_size);
	strcpy(next, named.path);
	return 0;
}

int snapshot_paths_read(const char *path, struct snapshot_paths *out, char *err, size_t err_size)
{
	struct snapshot_file f;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(path) >= sizeof(out->chain[0])) {
		snprintf(err, err_size, "snapshot path too long: %.120s...", path);
		return -1;
	}
	strcpy(out->chain[0], path);
	out->nr_chain = 1;
	for (unsigned int i = 0; rc == 0; i++) {
		if (snapshot_file_open(&f, out->chain[i], err, err_size) < 0)
			return -1;
		if (i == 0)
			rc = read_machine(&f, out, err, err_size);
		if (rc == 0 && (f.header.flags & SNAPSHOT_FLAG_DIFF)) {
			if (out->nr_chain == SNAPSHOT_MAX_CHAIN)
				rc = corrupt(path, "chain (too many diffs)", err, err_size);
			else
				rc = read_base(&f, SNAPSHOT_SECTION_BASE,
					       out->chain[out->nr_chain++], err, err_size);
		}
		snapshot_file_close(&f);
		if (i + 1 == out->nr_chain)
			break;
	}
	return rc;
}
