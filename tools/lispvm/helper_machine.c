/* SPDX-License-Identifier: MIT */
#include "helper_machine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "lispvm_config.h"
#include "log.h"

#define SYSTEM_PYTHON	 "/usr/bin/python3"
#define MAX_FORWARD_ARGS 16

bool helper_machine_wanted(void)
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

static const char *python(void)
{
	/* Debian's own: a wrapper such as pyenv's shim costs a start each time. */
	return access(SYSTEM_PYTHON, X_OK) == 0 ? SYSTEM_PYTHON : "python3";
}

/* execvp, or an exit status saying why not. */
static int exec_client(char **client_argv)
{
	if (access(LISPVM_MACHINE_TOOL, R_OK) != 0) {
		log_error("no /dev/kvm here, and the helper machine's client %s is missing (%s)",
			  LISPVM_MACHINE_TOOL, strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	fflush(NULL);
	execvp(client_argv[0], client_argv);
	log_error("no /dev/kvm here, and cannot start %s for the helper machine: %s",
		  client_argv[0], strerror(errno));
	return LISPVM_EXIT_HOST_ERROR;
}

int helper_machine_forward(char **argv, const struct cli_options *opts, bool no_boot)
{
	static char self[PATH_MAX], port[16];
	char *client_argv[MAX_FORWARD_ARGS + 1] = {0};
	char **out;
	size_t n = 0, argc = 0;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0) {
		log_error("cannot find lispvm's own path: %s", strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	self[len] = '\0';
	client_argv[n++] = (char *)python();
	client_argv[n++] = LISPVM_MACHINE_TOOL;
	client_argv[n++] = "forward";
	if (no_boot)
		client_argv[n++] = "--no-boot";
	if (opts->swank_port != 0) {
		snprintf(port, sizeof(port), "%u", opts->swank_port);
		client_argv[n++] = "--swank";
		client_argv[n++] = port;
	}
	if (opts->vsock_path != NULL) {
		client_argv[n++] = "--vsock";
		client_argv[n++] = (char *)opts->vsock_path;
	}
	client_argv[n++] = "--";
	while (argv[argc] != NULL)
		argc++;
	out = calloc(n + argc + 1, sizeof(*out));
	if (out == NULL) {
		log_error("out of memory");
		return LISPVM_EXIT_HOST_ERROR;
	}
	memcpy(out, client_argv, n * sizeof(*out));
	out[n] = self;
	memcpy(out + n + 1, argv + 1, (argc - 1) * sizeof(*out));
	return exec_client(out);
}

int helper_machine_command(const char *verb)
{
	char *client_argv[] = {(char *)python(), LISPVM_MACHINE_TOOL, (char *)verb, NULL};

	return exec_client(client_argv);
}

const char *helper_machine_vsock_path(const char *requested)
{
	const char *inner = getenv("LISPVM_MACHINE_VSOCK_PATH");

	return requested != NULL && inner != NULL && *inner != '\0' ? inner : requested;
}

const char *helper_machine_vm_name(void)
{
	const char *name = getenv("LISPVM_MACHINE_VM_NAME");

	return name != NULL && *name != '\0' ? name : NULL;
}
