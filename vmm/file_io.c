/* SPDX-License-Identifier: MIT */
#include "file_io.h"

#include <errno.h>
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
