/* SPDX-License-Identifier: MIT */
#include "make_dirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int make_parent_dirs(char *path, char *err, size_t err_size)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int make_dirs(char *path, char *err, size_t err_size)
{
	if (make_parent_dirs(path, err, err_size) < 0)
		return -1;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
