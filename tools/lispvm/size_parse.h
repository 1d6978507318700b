/* SPDX-License-Identifier: MIT */
#ifndef LISPVM_TOOLS_SIZE_PARSE_H
#define LISPVM_TOOLS_SIZE_PARSE_H

#include <stdint.h>

/* Parses "512M", "2G", "1048576", "64k": a decimal count with an optional
 * binary suffix K, M, G or T (either case, optional trailing "iB" or "B").
 * Returns 0, or -1 for anything else, including overflow. */
int size_parse(const char *text, uint64_t *bytes);

#endif
