/* SPDX-License-Identifier: MIT */
/* The image's tree, staged in a private directory for mkfs.erofs.
 *
 * Paths inside the stage are relative to its root ("." is the root). Every
 * directory on such a path is a real directory the stage created itself:
 * symlinks are resolved by stage_resolve, never by the kernel, so an
 * absolute symlink in the image cannot lead a write out onto the host. */
#ifndef LISPVM_IMAGE_STAGE_H
#define LISPVM_IMAGE_STAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "image_error.h"

/* As Linux's MAXSYMLINKS: a path that loops fails as it would on the host. */
#define STAGE_MAX_SYMLINK_HOPS 40

/* A directory's final mode and mtime, applied after everything inside it
 * is written (writing would change the mtime; a read-only mode would stop
 * the writes). */
struct stage_fixup {
	char *rel;
	mode_t mode;
	bool has_mtime;
	struct timespec mtime;
};

/* Files of ours a recursive copy must not take in (the staging directory
 * and the half-written image, when a host directory holds them). */
struct stage_skip {
	dev_t dev;
	ino_t ino;
};

struct image_stage {
	int root_fd;
	struct stage_fixup *fixups;
	size_t fixup_count;
	size_t fixup_cap;
	struct stage_skip skip[2];
	size_t skip_count;
	struct image_error *err;
};

/* Opens the stage rooted at root_path (an existing empty directory). */
int stage_open(struct image_stage *st, const char *root_path, struct image_error *err);
/* Leaves the file or directory at path out of recursive copies. */
void stage_skip(struct image_stage *st, const char *path);
/* Adds host_path (a file, a symlink as a symlink, or a directory with all
 * it holds) at guest_path, or at host_path's own absolute path when
 * guest_path is NULL. Parent directories are created; where one is a
 * symlink on the host, the image gets the same symlink and the entry goes
 * where it leads. */
int stage_add(struct image_stage *st, const char *host_path, const char *guest_path);
/* Adds path at its own path and, while it is a symlink, its target too. */
int stage_add_chain(struct image_stage *st, const char *path);
/* Gives the directories their final modes and mtimes. */
int stage_finish(struct image_stage *st);
void stage_close(struct image_stage *st);

/* For the stage's own files: */

/* Resolves guest_path's parents inside the stage, creating what is missing
 * from the host's layout. dir (PATH_MAX) gets the parent, relative to the
 * root ("" for the root); name (NAME_MAX + 1) the last component, or ""
 * when guest_path names a directory itself ("/", "/usr/."). */
int stage_resolve(struct image_stage *st, const char *guest_path, char *dir, char *name);
/* Creates directory rel; it gets mode and (if not NULL) mtime at the end. */
int stage_mkdir(struct image_stage *st, const char *rel, mode_t mode, const struct timespec *mtime);
/* Copies host_path, whatever its type, to rel. */
int stage_place(struct image_stage *st, const char *host_path, const char *rel);
/* "/" + rel, for messages. */
const char *stage_guest_name(const char *rel, char *buf, size_t size);

#endif
