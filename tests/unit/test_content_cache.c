/* SPDX-License-Identifier: MIT */
/* Content-named cache files: one per content, written whole, read-only. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "content_cache.h"

static bool file_holds(const char *path, const char *want, size_t len)
{
	char got[64] = "";
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(got, 1, sizeof(got), f) : 0;

	if (f)
		fclose(f);
	return n == len && memcmp(got, want, len) == 0;
}

int main(void)
{
	char top[] = "/tmp/content-cache-XXXXXX", dir[64], a[256], b[256], c[256];
	struct stat st;

	CHECK(mkdtemp(top) != NULL);
	snprintf(dir, sizeof(dir), "%s/cache", top);
	CHECK(content_cache_store(dir, "text", "hello", 5, a, sizeof(a)) == 0);
	CHECK(file_holds(a, "hello", 5));
	CHECK(stat(a, &st) == 0 && (st.st_mode & 0777) == 0444);
	CHECK(content_cache_store(dir, "text", "hello", 5, b, sizeof(b)) == 0);
	CHECK(strcmp(a, b) == 0);
	CHECK(content_cache_store(dir, "text", "hellp", 5, c, sizeof(c)) == 0);
	CHECK(strcmp(a, c) != 0 && file_holds(c, "hellp", 5));
	CHECK(access(a, F_OK) != 0); /* the older content went */
	CHECK(strstr(a, "/text-") != NULL);
	CHECK(content_hash(CONTENT_HASH_INIT, "", 0) == CONTENT_HASH_INIT);
	CHECK(content_cache_store(dir, "text", "x", 1, a, 8) < 0); /* path too long */
	unlink(b);
	unlink(c);
	rmdir(dir);
	rmdir(top);
	return check_result("content_cache");
}
