/* SPDX-License-Identifier: MIT */
/* --mount HOST:GUEST[:ro|rw[,max-size=SIZE]]: the argument's syntax. */
#ifndef LISPVM_TOOLS_MOUNT_SPEC_H
#define LISPVM_TOOLS_MOUNT_SPEC_H

#include <stdbool.h>

#include "guest_params.h"

/* Splits spec in place into out (whose strings then point into spec).
 * The mode suffix is optional, rw by default; GUEST is what follows the
 * last other ':', so HOST may contain ':' and GUEST may not.  GUEST must be
 * absolute and normalized (no "//", ".", ".." or trailing '/') and not "/".
 * After rw, ",max-size=SIZE" (size_parse's SIZE, above 0) caps what the VM
 * may add to HOST's disk usage; ro takes no options.  Whether HOST is a
 * directory is checked when the VM starts.  Returns NULL, or why spec is
 * wrong. */
const char *mount_spec_parse(char *spec, struct guest_mount *out);

/* true if path is an absolute, normalized guest path other than "/". */
bool mount_spec_guest_path_ok(const char *path);

#endif
