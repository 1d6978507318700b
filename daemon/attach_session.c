/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "attach_session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd_io.h"
#include "lispvm_command.h"
#include "monotonic_time.h"

/* The agent greets a session at once; under nested emulation that can
 * take long, but a VM that says nothing for this long is stuck. */
#define ANSWER_TIMEOUT_MS 120000
/* How often a waiting session looks whether lispvmd is ending. */
#define CLOSING_CHECK_MS 500
/* After its session's end, the attach process has this long to exit. */
#define EXIT_GRACE_MS 2000

struct attach_session {
	pid_t pid;
	int io;	    /* the attach's stdin and stdout */
	int errors; /* its stderr */
	char early[4096];
	size_t early_len; /* what the agent said before the switch */
	char said[512];
	size_t said_len; /* the start of the attach's stderr, before it */
};

static void reap(struct attach_session *s)
{
	long long deadline = monotonic_ms() + EXIT_GRACE_MS;

	if (s->pid <= 0)
		return;
	while (waitpid(s->pid, NULL, WNOHANG) == 0) {
		if (monotonic_ms() >= deadline) {
			kill(s->pid, SIGKILL);
			while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
				;
			break;
		}
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
	}
	s->pid = 0;
}

void attach_session_free(void *session)
{
	struct attach_session *s = session;

	if (s == NULL)
		return;
	if (s->io >= 0)
		close(s->io); /* the attach sees its end */
	reap(s);
	if (s->errors >= 0)
		close(s->errors);
	free(s);
}

static struct attach_session *spawn(const struct vm_target *t, char *err, size_t err_size)
{
	const char *argv[] = {vm_table_lispvm(), "attach", t->lispvm_name, NULL};
	struct attach_session *s = calloc(1, sizeof(*s));
	int io[2] = {-1, -1}, errors[2] = {-1, -1};

	if (s == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) < 0 ||
	    pipe2(errors, O_CLOEXEC) < 0) {
		snprintf(err, err_size, "cannot start an attach: %s", strerror(errno));
		free(s);
		s = NULL;
	} else {
		s->io = io[0];
		s->errors = errors[0];
		s->pid = lispvm_command_spawn(argv, t->uid, (const int[3]){io[1], io[1], errors[1]},
					      "LISPVM_ATTACH_DIRECT=1", err, err_size);
		io[0] = errors[0] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (io[i] >= 0)
			close(io[i]);
		if (errors[i] >= 0)
			close(errors[i]);
	}
	if (s != NULL && s->pid < 0) {
		s->pid = 0;
		attach_session_free(s);
		return NULL;
	}
	return s;
}

/* Takes what the attach wrote on stderr: 1, or 0 at its end. */
static int hear(struct attach_session *s)
{
	char rest[512];
	bool room = s->said_len + 1 < sizeof(s->said);
	ssize_t n = room ? read(s->errors, s->said + s->said_len, sizeof(s->said) - 1 - s->said_len)
			 : read(s->errors, rest, sizeof(rest));

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	if (room)
		s->said_len += (size_t)n;
	return 1;
}

/* Why the attach ended before the agent spoke: the first line of its
 * stderr, which it ends as it exits (waited for a while). */
static void failure(struct attach_session *s, char *err, size_t err_size)
{
	long long deadline = monotonic_ms() + EXIT_GRACE_MS;

	close(s->io);
	s->io = -1;
	for (;;) {
		struct pollfd p = {.fd = s->errors, .events = POLLIN};
		long long left = deadline - monotonic_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || !hear(s))
			break;
	}
	s->said[s->said_len] = '\0';
	s->said[strcspn(s->said, "\n")] = '\0';
	snprintf(err, err_size, "%s",
		 s->said[0] != '\0' ? s->said
				    : "lispvm attach ended before the VM's agent answered");
}

struct attach_session *attach_session_start(const struct vm_target *t, unsigned int *status,
					    char *err, size_t err_size)
{
	struct attach_session *s = spawn(t, err, err_size);
	long long deadline = monotonic_ms() + ANSWER_TIMEOUT_MS;

	*status = 500;
	if (s == NULL)
		return NULL;
	for (;;) {
		struct pollfd p[2] = {{.fd = s->io, .events = POLLIN},
				      {.fd = s->errors, .events = POLLIN}};
		ssize_t n;

		if (vm_table_closing() || monotonic_ms() >= deadline) {
			snprintf(err, err_size, "%s",
				 vm_table_closing() ? "lispvmd is ending"
						    : "the VM's attach agent did not answer");
			*status = vm_table_closing() ? 503 : 504;
			break;
		}
		if (poll(p, 2, CLOSING_CHECK_MS) <= 0)
			continue;
		if (p[0].revents) {
			n = read(s->io, s->early, sizeof(s->early));
			if (n > 0) {
				s->early_len = (size_t)n;
				return s;
			}
			if (n < 0 && errno == EINTR)
				continue;
		} else if (hear(s)) {
			continue; /* a line on stderr: the attach's end tells */
		}
		failure(s, err, err_size);
		*status = 502;
		break;
	}
	attach_session_free(s);
	return NULL;
}

void attach_session_run(void *session, int sock, const char *extra, size_t extra_len)
{
	struct attach_session *s = session;
	bool caller_sending = true, errors_open = true;

	if (write_all(sock, s->early, s->early_len) < 0 || write_all(s->io, extra, extra_len) < 0)
		return;
	while (!vm_table_closing()) {
		struct pollfd p[3] = {{.fd = s->io, .events = POLLIN},
				      {.fd = caller_sending ? sock : -1, .events = POLLIN},
				      {.fd = errors_open ? s->errors : -1, .events = POLLIN}};

		if (poll(p, 3, CLOSING_CHECK_MS) < 0 && errno != EINTR)
			return;
		if (p[0].revents && !pump(s->io, sock))
			return; /* the session is over */
		if (p[1].revents && !pump(sock, s->io)) {
			caller_sending = false; /* detached: the agent ends the session */
			shutdown(s->io, SHUT_WR);
		}
		if (p[2].revents && !hear(s))
			errors_open = false;
	}
}
