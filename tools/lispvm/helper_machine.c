/* SPDX-License-Identifier: MIT */
#include "helper_machine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "log.h"
#include "machine_client.h"
#include "self_path.h"

#define MAX_FORWARD_ARGS 16

/* execvp, or an exit status saying why not. */
static int exec_client(char **client_argv)
{
	char err[PATH_MAX + 128];

	machine_client_exec(client_argv, err, sizeof(err));
	log_error("no /dev/kvm here, and %s", err);
	return LISPVM_EXIT_HOST_ERROR;
}

int helper_machine_forward(char **argv, const struct cli_options *opts, bool no_boot)
{
	static char self[PATH_MAX], port[16];
	char *client_argv[MAX_FORWARD_ARGS + 1] = {0};
	char **out;
	size_t n = 0, argc = 0;

	if (self_path(self, sizeof(self)) < 0) {
		log_error("cannot find lispvm's own path: %s", strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	machine_client_argv_head(client_argv);
	n = MACHINE_CLIENT_ARGV_HEAD;
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
	char *client_argv[MACHINE_CLIENT_ARGV_HEAD + 2] = {0};

	machine_client_argv_head(client_argv);
	client_argv[MACHINE_CLIENT_ARGV_HEAD] = (char *)verb;
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
