/* SPDX-License-Identifier: MIT */
#include "daemon_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_SOCKET "/run/lispvm/lispvmd.sock"

static int is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int daemon_socket_default_path(char *path, size_t size, char *err, size_t err_size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(path, size, ROOT_SOCKET);
	else if (runtime == NULL || runtime[0] != '/') {
		snprintf(err, err_size,
			 "XDG_RUNTIME_DIR is not set: give the socket with --socket PATH");
		return -1;
	} else
		n = snprintf(path, size, "%s/lispvm/lispvmd.sock", runtime);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, err_size, "the socket path is too long");
		return -1;
	}
	return 0;
}

int daemon_socket_client_path(char *path, size_t size, char *err, size_t err_size)
{
	int own = daemon_socket_default_path(path, size, err, err_size);

	if ((own == 0 && is_socket(path)) || geteuid() == 0 || !is_socket(ROOT_SOCKET))
		return own;
	snprintf(path, size, ROOT_SOCKET);
	return 0;
}
