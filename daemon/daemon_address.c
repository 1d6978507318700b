/* SPDX-License-Identifier: MIT */
#include "daemon_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int daemon_socket_default_path(char *path, size_t size, char *err, size_t err_size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(path, size, "/run/lispvm/lispvmd.sock");
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
