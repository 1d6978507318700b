/* SPDX-License-Identifier: MIT */
#include "content_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t content_hash(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Other contents under the same prefix (older builds): a VM that maps one
 * keeps its pages after the unlink, so this never disturbs a running VM. */
static void remove_others(const char *dir, const char *prefix, const char *keep)
{
	size_t plen = strlen(prefix);
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, plen) == 0 && e->d_name[plen] == '-' &&
		    strcmp(e->d_name, keep) != 0 &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
			unlink(path);
	closedir(d);
}

int content_cache_store(const char *dir, const char *prefix, const void *bytes, size_t len,
			char *path, size_t path_size)
{
	uint64_t key = content_hash(content_hash(CONTENT_HASH_INIT, &len, sizeof(len)), bytes, len);
	char tmp[4096];
	int fd, saved;

	if ((size_t)snprintf(path, path_size, "%s/%s-%016" PRIx64 ".bin", dir, prefix, key) >=
		    path_size ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s-XXXXXX", dir, prefix) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (access(path, R_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	if (write_all(fd, bytes, len) < 0 || fchmod(fd, 0444) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	remove_others(dir, prefix, strrchr(path, '/') + 1);
	return 0;
}
