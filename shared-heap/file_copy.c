/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "file_copy.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

/* The kernel refuses copy_file_range for these combinations (file systems
 * or kernels that cannot do it); plain read/write still can. */
static bool copy_range_unsupported(int err)
{
	return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL || err == EBADF;
}

static int write_all(int fd, const char *bytes, size_t n)
{
	while (n > 0) {
		ssize_t done = write(fd, bytes, n);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return errno;
		bytes += done;
		n -= (size_t)done;
	}
	return 0;
}

static int copy_read_write(int src_fd, int dst_fd)
{
	char chunk[1 << 16];

	for (;;) {
		ssize_t n = read(src_fd, chunk, sizeof(chunk));
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;
		rc = write_all(dst_fd, chunk, (size_t)n);
		if (rc != 0)
			return rc;
	}
}

/* In-kernel copy (a reflink or server-side copy where the file system can)
 * avoids bouncing a 40 MiB Lisp core through user space. Both offsets
 * advance with it, so the fallback carries on where it stopped. */
int file_copy_data(int src_fd, int dst_fd)
{
	for (;;) {
		ssize_t n = copy_file_range(src_fd, NULL, dst_fd, NULL, 1 << 30, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && copy_range_unsupported(errno))
			return copy_read_write(src_fd, dst_fd);
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;
	}
}
