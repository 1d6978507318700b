/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_PATH */
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

int file_pread_all(int fd, void *buf, size_t size, uint64_t off)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, size - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int file_pwrite_all(int fd, const void *buf, size_t size, uint64_t off)
{
	for (size_t done = 0; done < size;) {
		ssize_t n =
			pwrite(fd, (const uint8_t *)buf + done, size - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int file_fd_path(int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlinkat(AT_FDCWD, link, out, size - 1);
	if (n < 0)
		return -1;
	if ((size_t)n >= size - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

int file_real_path(const char *path, char *out, size_t size)
{
	int fd = openat(AT_FDCWD, path, O_PATH | O_CLOEXEC), rc, saved;

	if (fd < 0)
		return -1;
	rc = file_fd_path(fd, out, size);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
