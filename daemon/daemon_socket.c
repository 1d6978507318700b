/* SPDX-License-Identifier: MIT */
#include "daemon_socket.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_address(struct sockaddr_un *addr, const char *path, char *err, size_t err_size)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(err, err_size, "socket path too long (at most %zu bytes): %s",
			 sizeof(addr->sun_path) - 1, path);
		return -1;
	}
	strcpy(addr->sun_path, path);
	return 0;
}

/* Whether a daemon answers at addr now. */
static bool answered(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up = fd >= 0 && connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;

	if (fd >= 0)
		close(fd);
	return up;
}

/* The socket's directory, made if missing (one level: /run/lispvm or
 * $XDG_RUNTIME_DIR/lispvm). */
static int make_directory(const char *path, char *err, size_t err_size)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_socket_listen(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un addr;
	int fd;

	if (fill_address(&addr, path, err, err_size) < 0 || make_directory(path, err, err_size) < 0)
		return -1;
	if (answered(&addr)) {
		snprintf(err, err_size, "another lispvmd serves %s", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, err_size, "cannot replace the stale socket %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, geteuid() == 0 ? 0666 : 0600) < 0 || listen(fd, 128) < 0) {
		snprintf(err, err_size, "cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}
