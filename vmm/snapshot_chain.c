/* SPDX-License-Identifier: MIT */
#include "snapshot_chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The section-level errors of snapshot_file name no file: say which. */
static int level_failed(const struct snapshot_level *l, const char *why, char *err, size_t err_size)
{
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", why);
	if (strncmp(copy, "snapshot: ", 10) == 0)
		snprintf(err, err_size, "snapshot %s: %s", l->path, copy + 10);
	else
		snprintf(err, err_size, "%s", copy);
	return -1;
}

/* RAM must lie wholly inside the file, at an aligned offset. */
static int check_memory_section(const struct snapshot_level *l, char *err, size_t err_size)
{
	uint64_t offset = snapshot_file_memory_offset(&l->f);

	if (offset == 0 || offset % SNAPSHOT_MEMORY_ALIGN != 0 || offset > l->f.file_size ||
	    l->f.header.memory_size > l->f.file_size - offset) {
		snprintf(err, err_size, "snapshot %s: truncated or corrupt memory section",
			 l->path);
		return -1;
	}
	return 0;
}

static int read_level(struct snapshot_level *l, char *err, size_t err_size)
{
	char why[512];

	if (check_memory_section(l, err, err_size) < 0)
		return -1;
	if (snapshot_file_read_extents(&l->f, SNAPSHOT_SECTION_EXTENTS, &l->extents, &l->nr_extents,
				       why, sizeof(why)) < 0 ||
	    snapshot_file_read_extents(&l->f, SNAPSHOT_SECTION_ZEROED, &l->zeroed, &l->nr_zeroed,
				       why, sizeof(why)) < 0 ||
	    snapshot_file_verify_memory(&l->f, l->extents, l->nr_extents, why, sizeof(why)) < 0)
		return level_failed(l, why, err, err_size);
	return 0;
}

/* The base a diff names, which must be the file it was taken over. */
static int open_base(struct snapshot_chain *c, char *err, size_t err_size)
{
	const struct snapshot_level *diff = &c->level[c->n - 1];
	struct snapshot_level *base = &c->level[c->n];
	struct snapshot_base named;
	char why[512];

	if (snapshot_file_read(&diff->f, SNAPSHOT_SECTION_BASE, &named, sizeof(named), why,
			       sizeof(why)) < 0)
		return level_failed(diff, why, err, err_size);
	if (memchr(named.path, '\0', sizeof(named.path)) == NULL || named.path[0] != '/') {
		snprintf(err, err_size, "snapshot %s: corrupt base name", diff->path);
		return -1;
	}
	if (c->n == SNAPSHOT_MAX_CHAIN) {
		snprintf(err, err_size, "snapshot %s: more than %d diffs over one base",
			 c->level[0].path, SNAPSHOT_MAX_CHAIN - 1);
		return -1;
	}
	strcpy(base->path, named.path);
	if (snapshot_file_open(&base->f, base->path, why, sizeof(why)) < 0) {
		snprintf(err, err_size, "snapshot %s: its base: %s", diff->path, why);
		return -1;
	}
	c->n++;
	if (base->f.header.header_checksum != named.header_checksum) {
		snprintf(err, err_size,
			 "snapshot %s: its base %s has changed since the diff was taken",
			 diff->path, base->path);
		return -1;
	}
	if (base->f.header.runtime_hash != diff->f.header.runtime_hash ||
	    base->f.header.memory_size != diff->f.header.memory_size) {
		snprintf(err, err_size, "snapshot %s: its base %s is of another VM", diff->path,
			 base->path);
		return -1;
	}
	return 0;
}

int snapshot_chain_open(struct snapshot_chain *c, const char *path, char *err, size_t err_size)
{
	memset(c, 0, sizeof(*c));
	for (unsigned int i = 0; i < SNAPSHOT_MAX_CHAIN; i++)
		c->level[i].f.fd = -1;
	if (strlen(path) >= sizeof(c->level[0].path)) {
		snprintf(err, err_size, "snapshot path too long");
		return -1;
	}
	strcpy(c->level[0].path, path);
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
