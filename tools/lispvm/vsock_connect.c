/* SPDX-License-Identifier: MIT */
#include "vsock_connect.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The guest answers at once (its listener accepts in its interrupt
 * handler); this bounds a VM that is stuck. */
#define HANDSHAKE_TIMEOUT_MS 10000

/* The answer line, a byte at a time so nothing after it is taken. */
static int read_answer(int fd, char *line, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t got;

		if (poll(&p, 1, HANDSHAKE_TIMEOUT_MS) <= 0)
			return -1;
		got = read(fd, line + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (line[n] == '\n') {
			line[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

int unix_stream_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int vsock_connect(const char *path, unsigned int port, char *err, size_t err_size)
{
	char request[32], answer[64];
	int fd = unix_stream_connect(path), n;

	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path,
			 errno == ENAMETOOLONG ? "path too long for a Unix socket"
					       : strerror(errno));
		return -1;
	}
	n = snprintf(request, sizeof(request), "CONNECT %u\n", port);
	if (write(fd, request, (size_t)n) != n || read_answer(fd, answer, sizeof(answer)) < 0 ||
	    strncmp(answer, "OK ", 3) != 0) {
		snprintf(err, err_size, "nothing listens on vsock port %u of the VM at %s", port,
			 path);
		close(fd);
		return -1;
	}
	return fd;
}

int unix_stream_listen(const char *path, int backlog)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (listen(fd, backlog) < 0) {
		saved = errno;
		unlink(path);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
