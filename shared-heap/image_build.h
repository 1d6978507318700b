/* SPDX-License-Identifier: MIT */
/* Building the read-only EROFS images whose files lispvm guests see.
 *
 * The image is made by staging the tree in a private temporary directory
 * and running mkfs.erofs (erofs-utils) on it, with every regular file's
 * data uncompressed, 4 KiB aligned and contiguous, so that the guest can
 * map image pages directly into a program. */
#ifndef LISPVM_IMAGE_BUILD_H
#define LISPVM_IMAGE_BUILD_H

#include <stddef.h>

enum image_entry_kind {
	/* host_path at guest_path (NULL: host_path's own absolute path): a
	 * regular file with its permission bits and mtime, a symlink as a
	 * symlink, a directory with everything it holds. */
	IMAGE_ENTRY_PATH,
	/* host_path, a program, at its own path, with every shared library
	 * and the ELF interpreter ldd(1) lists for it, symlinks followed to
	 * the real files. */
	IMAGE_ENTRY_LDD,
};

struct image_entry {
	enum image_entry_kind kind;
	const char *host_path;
	const char *guest_path;
};

/* Splits a command-line entry "HOST_PATH" or "HOST_PATH:GUEST_PATH" in
 * place (the split is at the last ':' before a '/', so GUEST_PATH is
 * always absolute and host paths may hold other colons). Returns -1 for
 * an empty HOST_PATH. */
int image_entry_parse(char *arg, struct image_entry *out);

/* Builds the image of entries, in order (a later file or symlink replaces
 * an earlier one at the same path; directories merge), and writes it to
 * output atomically: output is replaced only by a complete image.
 *
 * Every parent directory of an entry is created in the image; where the
 * host has a symlink on that path (Debian 12 is merged-/usr: /lib ->
 * usr/lib), the image gets the same symlink and the entry goes where it
 * leads, so both spellings of a path work in the guest as on the host.
 *
 * Returns 0, or -1 with one line saying why in err. */
int image_build(const char *output, const struct image_entry *entries, size_t count, char *err,
		size_t err_size);

#endif
