/* SPDX-License-Identifier: MIT */
#include "snapshot_chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* RAM must lie wholly inside the file, at an aligned offset. */
static int check_memory_section(const struct snapshot_level *l, char *err, size_t err_size)
{
	uint64_t offset = snapshot_file_memory_offset(&l->f);

	if (offset == 0 || offset % SNAPSHOT_MEMORY_ALIGN != 0 || offset > l->f.file_size ||
	    l->f.header.memory_size > l->f.file_size - offset) {
		snprintf(err, err_size, "snapshot %s: truncated or corrupt memory section",
			 l->f.path);
		return -1;
	}
	return 0;
}

static int read_level(struct snapshot_level *l, char *err, size_t err_size)
{
	if (l->f.header.flags & SNAPSHOT_FLAG_WORKING_SET) {
		snprintf(err, err_size,
			 "snapshot %s: a working set (for --prefetch), not a snapshot", l->f.path);
		return -1;
	}
	if (check_memory_section(l, err, err_size) < 0 ||
	    snapshot_file_read_extents(&l->f, SNAPSHOT_SECTION_EXTENTS, &l->extents, &l->nr_extents,
				       err, err_size) < 0 ||
	    snapshot_file_read_extents(&l->f, SNAPSHOT_SECTION_ZEROED, &l->zeroed, &l->nr_zeroed,
				       err, err_size) < 0 ||
	    snapshot_file_verify_memory(&l->f, l->extents, l->nr_extents, err, err_size) < 0)
		return -1;
	return 0;
}

/* The base a diff names, which must be the file it was taken over. */
static int open_base(struct snapshot_chain *c, char *err, size_t err_size)
{
	const struct snapshot_level *diff = &c->level[c->n - 1];
	struct snapshot_level *base = &c->level[c->n];
	struct snapshot_base named;
	char why[512];

	if (snapshot_file_read(&diff->f, SNAPSHOT_SECTION_BASE, &named, sizeof(named), err,
			       err_size) < 0)
		return -1;
	if (memchr(named.path, '\0', sizeof(named.path)) == NULL || named.path[0] != '/') {
		snprintf(err, err_size, "snapshot %s: corrupt base name", diff->f.path);
		return -1;
	}
	if (c->n == SNAPSHOT_MAX_CHAIN) {
		snprintf(err, err_size, "snapshot %s: more than %d diffs over one base",
			 c->level[0].f.path, SNAPSHOT_MAX_CHAIN - 1);
		return -1;
	}
	if (snapshot_file_open(&base->f, named.path, why, sizeof(why)) < 0) {
		snprintf(err, err_size, "snapshot %s: its base: %s", diff->f.path, why);
		return -1;
	}
	c->n++;
	if (base->f.header.header_checksum != named.header_checksum) {
		snprintf(err, err_size,
			 "snapshot %s: its base %s has changed since the diff was taken",
			 diff->f.path, base->f.path);
		return -1;
	}
	if (base->f.header.runtime_hash != diff->f.header.runtime_hash ||
	    base->f.header.memory_size != diff->f.header.memory_size) {
		snprintf(err, err_size, "snapshot %s: its base %s is of another VM", diff->f.path,
			 base->f.path);
		return -1;
	}
	return 0;
}

int snapshot_chain_open(struct snapshot_chain *c, const char *path, char *err, size_t err_size)
{
	memset(c, 0, sizeof(*c));
	for (unsigned int i = 0; i < SNAPSHOT_MAX_CHAIN; i++)
		c->level[i].f.fd = -1;
	if (snapshot_file_open(&c->level[0].f, path, err, err_size) < 0)
		return -1;
	c->n = 1;
	while (c->level[c->n - 1].f.header.flags & SNAPSHOT_FLAG_DIFF)
		if (open_base(c, err, err_size) < 0)
			return -1;
	for (unsigned int i = 0; i < c->n; i++)
		if (read_level(&c->level[i], err, err_size) < 0)
			return -1;
	return 0;
}

void snapshot_chain_close(struct snapshot_chain *c)
{
	for (unsigned int i = 0; i < SNAPSHOT_MAX_CHAIN; i++) {
		if (c->level[i].f.fd >= 0)
			snapshot_file_close(&c->level[i].f);
		free(c->level[i].extents);
		free(c->level[i].zeroed);
		c->level[i].extents = c->level[i].zeroed = NULL;
	}
	c->n = 0;
}

int snapshot_chain_find(const char *const *paths, unsigned int n, const char *file)
{
	struct stat target, st;

	if (stat(file, &target) < 0)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		if (stat(paths[i], &st) == 0 && st.st_dev == target.st_dev &&
		    st.st_ino == target.st_ino)
			return (int)i;
	return -1;
}

int snapshot_chain_check_diff_target(const char *const *paths, unsigned int n, const char *out,
				     char *err, size_t err_size)
{
	int i;

	if (n == SNAPSHOT_MAX_CHAIN) {
		snprintf(err, err_size,
			 "snapshot %.160s: already %d diffs over one base; a diff over it could "
			 "not be restored",
			 paths[0], SNAPSHOT_MAX_CHAIN - 1);
		return -1;
	}
	if ((i = snapshot_chain_find(paths, n, out)) >= 0) {
		snprintf(err, err_size,
			 "snapshot %.1000s: a diff cannot replace the snapshot it is taken over "
			 "(%.1000s)",
			 out, paths[i]);
		return -1;
	}
	return 0;
}
