/* SPDX-License-Identifier: MIT */
/* What the guest runtime (and libfdt) needs of <stdlib.h>. */
#ifndef GUEST_STDLIB_H
#define GUEST_STDLIB_H

#include <stddef.h>

unsigned long strtoul(const char *s, char **end, int base);

#endif
