/* SPDX-License-Identifier: MIT */
/* Files named by their content, for mapping MAP_SHARED across VMs: one is
 * written once (a temporary file renamed into place) and never changed
 * in place, so a mapping of it cannot change or shrink under a running
 * VM the way a file rebuilt or reinstalled in place would. */
#ifndef LISPVM_CONTENT_CACHE_H
#define LISPVM_CONTENT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CONTENT_HASH_INIT 0xcbf29ce484222325ull

/* FNV-1a over data[0..n), continuing from h: cache keys, not security. */
uint64_t content_hash(uint64_t h, const void *data, size_t n);

/* The path of dir/prefix-HASH.bin holding exactly bytes[0..len), made
 * (with dir, one level) if it is not there, when the other prefix-*
 * files there go.  0, or -1 with errno. */
int content_cache_store(const char *dir, const char *prefix, const void *bytes, size_t len,
			char *path, size_t path_size);

#endif
