/* SPDX-License-Identifier: MIT */
#include "machine_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lispvm_config.h"

#define SYSTEM_PYTHON "/usr/bin/python3"

bool machine_client_wanted(void)
{
	const char *choice = getenv("LISPVM_MACHINE");
	int fd;

	if (choice != NULL && strcmp(choice, "never") == 0)
		return false;
	if (choice != NULL && strcmp(choice, "always") == 0)
		return true;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}

void machine_client_argv_head(char *argv[MACHINE_CLIENT_ARGV_HEAD])
{
	/* Debian's own: a wrapper such as pyenv's shim costs a start each time. */
	argv[0] = access(SYSTEM_PYTHON, X_OK) == 0 ? SYSTEM_PYTHON : "python3";
	argv[1] = LISPVM_MACHINE_TOOL;
}

void machine_client_exec(char **argv, char *err, size_t err_size)
{
	if (access(LISPVM_MACHINE_TOOL, R_OK) != 0) {
		snprintf(err, err_size, "the helper machine's client %s is missing (%s)",
			 LISPVM_MACHINE_TOOL, strerror(errno));
		return;
	}
	fflush(NULL);
	execvp(argv[0], argv);
	snprintf(err, err_size, "cannot start %s for the helper machine: %s", argv[0],
		 strerror(errno));
}
