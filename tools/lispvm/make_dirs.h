/* SPDX-License-Identifier: MIT */
/* mkdir -p for lispvm's cache and lispvmd's state in the helper machine. */
#ifndef LISPVM_TOOLS_MAKE_DIRS_H
#define LISPVM_TOOLS_MAKE_DIRS_H

#include <stddef.h>

/* Makes path and its missing parents (0755), the last one private to the
 * user (0700).  path is changed while it works and restored.  0, or -1
 * with the reason in err. */
int make_dirs(char *path, char *err, size_t err_size);

#endif
