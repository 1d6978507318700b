/* SPDX-License-Identifier: MIT */
#ifndef LISPVM_TOOLS_KERNEL_PATH_H
#define LISPVM_TOOLS_KERNEL_PATH_H

#include <stddef.h>

/* Where the guest runtime ELF is: $LISPVM_KERNEL, else next to this binary
 * in the build tree, else the installed copy.  Writes the path to out. */
void kernel_path_default(char *out, size_t size);

#endif
