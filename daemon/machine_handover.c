/* SPDX-License-Identifier: MIT */
#include "machine_handover.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine_client.h"
#include "make_dirs.h"
#include "socket_activation.h"
#include "self_path.h"

/* python, the client, forward --listen-fd N --unlink PATH -- */
#define CLIENT_WORDS (MACHINE_CLIENT_ARGV_HEAD + 6)
/* --machine-owner UID --state-dir DIR, and the end */
#define INNER_WORDS 5

/* The state directory inside: MACHINE_STATE_ROOT then the host's path. */
static int inner_state_dir(const char *state_dir, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	if (state_dir[0] == '/')
		n = snprintf(out, size, MACHINE_STATE_ROOT "%s", state_dir);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		n = snprintf(out, size, MACHINE_STATE_ROOT "%s/%s", cwd, state_dir);
	else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void machine_handover(char **argv, int listen_fd, const char *unlink_path, const char *state_dir,
		      char *err, size_t err_size)
{
	static char self[PATH_MAX], fd_word[16], owner[16], inner_state[PATH_MAX];
	size_t argc = 0, n = MACHINE_CLIENT_ARGV_HEAD;
	sigset_t unblocked, was;
	char **out;

	if (self_path(self, sizeof(self)) < 0) {
		snprintf(err, err_size, "cannot find lispvmd's own path: %s", strerror(errno));
		return;
	}
	if (inner_state_dir(state_dir, inner_state, sizeof(inner_state)) < 0) {
		snprintf(err, err_size, "the state directory's path is too long");
		return;
	}
	while (argv[argc] != NULL)
		argc++;
	out = calloc(CLIENT_WORDS + argc + INNER_WORDS, sizeof(*out));
	if (out == NULL) {
		snprintf(err, err_size, "out of memory");
		return;
	}
	machine_client_argv_head(out);
	snprintf(fd_word, sizeof(fd_word), "%d", listen_fd);
	out[n++] = "forward";
	out[n++] = "--listen-fd";
	out[n++] = fd_word;
	if (unlink_path != NULL) {
		out[n++] = "--unlink";
		out[n++] = (char *)unlink_path;
	}
	out[n++] = "--";
	out[n++] = self;
	memcpy(out + n, argv + 1, (argc - 1) * sizeof(*out));
	n += argc - 1;
	/* Last, so that they win over the host's --state-dir. */
	snprintf(owner, sizeof(owner), "%u", (unsigned int)geteuid());
	out[n++] = "--machine-owner";
	out[n++] = owner;
	out[n++] = "--state-dir";
	out[n++] = inner_state;
	if (fcntl(listen_fd, F_SETFD, 0) < 0) {
		snprintf(err, err_size, "cannot pass the socket on: %s", strerror(errno));
		free(out);
		return;
	}
	/* The client serves from now on; callers that come while the machine
	 * boots wait in the socket's queue. */
	socket_activation_notify("READY=1");
	unsetenv("NOTIFY_SOCKET");
	/* The client forwards SIGTERM and SIGINT to the daemon inside; a mask
	 * and an ignored SIGPIPE would outlive the exec. */
	sigemptyset(&unblocked);
	sigprocmask(SIG_SETMASK, &unblocked, &was);
	signal(SIGPIPE, SIG_DFL);
	machine_client_exec(out, err, err_size);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &was, NULL);
	fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	free(out);
}

int machine_inside(const char *state_dir, char *path, size_t size, char *err, size_t err_size)
{
	const char *inner = getenv("LISPVM_MACHINE_VSOCK_PATH");
	char dir[PATH_MAX];

	if (inner == NULL || *inner == '\0') {
		snprintf(err, err_size,
			 "--machine-owner is for lispvmd in the helper machine, which a host "
			 "lispvmd starts (no LISPVM_MACHINE_VSOCK_PATH here)");
		return -1;
	}
	if (snprintf(path, size, "%s", inner) >= (int)size) {
		snprintf(err, err_size, "the machine's socket path is too long");
		return -1;
	}
	unsetenv("LISPVM_MACHINE_VSOCK_PATH");
	unsetenv("LISPVM_MACHINE_VM_NAME");
	if (snprintf(dir, sizeof(dir), "%s", state_dir) >= (int)sizeof(dir)) {
		snprintf(err, err_size, "the state directory's path is too long");
		return -1;
	}
	return make_dirs(dir, err, err_size);
}
