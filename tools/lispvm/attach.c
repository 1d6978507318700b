/* SPDX-License-Identifier: MIT */
/*
 * Lines typed go to the agent as they are; what the agent prints comes
 * out as it arrives.  Ctrl-C is not for this process: it becomes a line
 * holding ETX, which the agent turns into an interrupt of the evaluation
 * in progress.  End of input (Ctrl-D) detaches; the program runs on.
 */
#define _GNU_SOURCE /* ppoll */
#include "attach.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent.h"
#include "vm_socket.h"
#include "vsock_connect.h"
#include "fd_io.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* SIGINT is blocked except inside ppoll, so one that comes between the
 * check and the wait still ends the wait. */
static void relay(int fd, const sigset_t *waiting_mask)
{
	bool stdin_open = true;

	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};

		if (interrupted) {
			interrupted = 0;
			if (write_all(fd, "\003\n", 2) < 0)
				return;
		}
		if (ppoll(p, 2, NULL, waiting_mask) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents && !pump(fd, STDOUT_FILENO))
			return;
		if (p[1].revents && !pump(STDIN_FILENO, fd)) {
			stdin_open = false;
			shutdown(fd, SHUT_WR); /* detach: the agent ends the session */
		}
	}
}

bool attach_target_here(const char *target)
{
	char path[4096], err[4096 + 128];

	return vm_socket_resolve(target, path, sizeof(path), err, sizeof(err)) == 0;
}

int attach_command(const char *target)
{
	char path[4096], err[4096 + 128];
	int fd;

	if (vm_socket_resolve(target, path, sizeof(path), err, sizeof(err)) < 0) {
		fprintf(stderr, "lispvm: attach: %s\n", err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	fd = vsock_connect(path, AGENT_ATTACH_PORT, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "lispvm: attach: %s (was it started with run --attachable?)\n",
			err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	return attach_session(fd);
}

int attach_session(int fd)
{
	struct sigaction sa = {.sa_handler = on_sigint}; /* no SA_RESTART: poll wakes */
	sigset_t block, waiting;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGINT);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	relay(fd, &waiting);
	close(fd);
	return 0;
}
