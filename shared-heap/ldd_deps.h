/* SPDX-License-Identifier: MIT */
/* What a dynamically linked program needs to start: its shared libraries
 * and ELF interpreter, as ldd(1) lists them. */
#ifndef LISPVM_LDD_DEPS_H
#define LISPVM_LDD_DEPS_H

#include <stddef.h>

#include "image_error.h"

struct ldd_deps {
	char **paths; /* absolute, as the loader opens them (often symlinks) */
	size_t count;
};

/* Runs `ldd BINARY` and collects the paths it lists (none for a static
 * binary). On success deps needs ldd_deps_free. */
int ldd_deps_list(const char *binary, struct ldd_deps *deps, struct image_error *e);
void ldd_deps_free(struct ldd_deps *deps);

/* Parses ldd's output into deps; split from ldd_deps_list for testing. */
int ldd_deps_parse(const char *binary, const char *output, struct ldd_deps *deps,
		   struct image_error *e);

#endif
