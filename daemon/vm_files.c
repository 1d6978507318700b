/* SPDX-License-Identifier: MIT */
#include "vm_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
	unlink(tmp); /* left by a write that failed half-way */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

int vm_files_open(const char *dir, const char *name)
{
	struct stat dir_st, st;
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;

	if (dir_fd < 0)
		return -1;
	if (fstat(dir_fd, &dir_st) == 0)
		fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	/* A file of another owner is none of the directory's: a user may
	 * link a file they can name but not read into their VM's directory. */
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != dir_st.st_uid)) {
		close(fd);
		fd = -1;
	}
	close(dir_fd);
	return fd;
}

struct json_object *vm_files_read(const char *dir, const char *name)
{
	char *text = malloc(VM_FILES_MAX_JSON + 1);
	struct json_object *obj = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = vm_files_open(dir, name);

	if (fd >= 0 && text != NULL) {
		while (len < VM_FILES_MAX_JSON &&
		       (n = read(fd, text + len, VM_FILES_MAX_JSON - len)) > 0)
			len += (size_t)n;
		text[len] = '\0';
		obj = json_tokener_parse(text);
		if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return obj;
}
