/* SPDX-License-Identifier: MIT */
#include "self_path.h"

#include <errno.h>
#include <unistd.h>

int self_path(char *out, size_t size)
{
	ssize_t n;

	if (size < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = readlink("/proc/self/exe", out, size - 1);
	if (n <= 0)
		return -1;
	/* readlink truncates silently: a full buffer may be a cut path. */
	if ((size_t)n == size - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}
