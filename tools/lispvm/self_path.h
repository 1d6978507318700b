/* SPDX-License-Identifier: MIT */
/* The running program's own path, which lispvm and lispvmd use to find
 * what sits beside them (the guest kernel, lispvm, the helper machine's
 * client) and to name themselves to others (binfmt_misc, the client). */
#ifndef LISPVM_TOOLS_SELF_PATH_H
#define LISPVM_TOOLS_SELF_PATH_H

#include <stddef.h>

/* The absolute path of this process's executable in out.  0, or -1 with
 * errno set (ENAMETOOLONG when it does not fit). */
int self_path(char *out, size_t size);

#endif
