/* SPDX-License-Identifier: MIT */
#include "vm_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double vm_files_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vm_files_write(const char *dir, const char *name, struct json_object *obj)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text);
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		int error = errno ? errno : EIO;

		close(fd);
		unlink(tmp);
		errno = error;
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

struct json_object *vm_files_read(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct json_object *obj;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	/* A VM's directory is its owner's to write: nothing big is read. */
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > VM_FILES_MAX_JSON)
		return NULL;
	obj = json_object_from_file(path);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}
