/* SPDX-License-Identifier: MIT */
#include "socket_activation.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <systemd/sd-daemon.h>

int socket_activation_listener(char *path, size_t size, char *err, size_t err_size)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	int n = sd_listen_fds(1), fd = SD_LISTEN_FDS_START;

	err[0] = '\0';
	if (n <= 0)
		return -1;
	if (n > 1) {
		snprintf(err, err_size, "systemd passed %d sockets; lispvmd listens on one", n);
		return -1;
	}
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path) || addr.sun_path[0] == '\0') {
		snprintf(err, err_size,
			 "the socket systemd passed is not a listening Unix stream socket "
			 "with a path (ListenStream=/run/lispvm/lispvmd.sock)");
		return -1;
	}
	if (snprintf(path, size, "%.*s", (int)(len - offsetof(struct sockaddr_un, sun_path)),
		     addr.sun_path) >= (int)size) {
		snprintf(err, err_size, "the socket's path is too long");
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

void socket_activation_notify(const char *state)
{
	sd_notify(0, state);
}
