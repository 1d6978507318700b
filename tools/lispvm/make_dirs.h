/* SPDX-License-Identifier: MIT */
/* mkdir -p for lispvm's cache and lispvmd's state in the helper machine. */
#ifndef LISPVM_TOOLS_MAKE_DIRS_H
#define LISPVM_TOOLS_MAKE_DIRS_H

#include <stddef.h>

/* Makes the missing directories above path's last name (0755).  path is
 * changed while it works and restored.  0, or -1 with the reason in err. */
int make_parent_dirs(char *path, char *err, size_t err_size);

/* make_parent_dirs, then path itself, private to the user (0700). */
int make_dirs(char *path, char *err, size_t err_size);

#endif
