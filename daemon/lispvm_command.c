/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "lispvm_command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm_table.h"

static pid_t spawn(const char *const *argv, int out, int *error)
{
	const char **env = vm_table_environment();
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, reset;
	pid_t pid = -1;

	if (env == NULL) {
		*error = ENOMEM;
		return -1;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, out, 1);
	posix_spawn_file_actions_adddup2(&actions, out, 2);
	/* The daemon's threads block SIGTERM and SIGINT and it ignores
	 * SIGPIPE; the command must not inherit that. */
	sigemptyset(&none);
	sigemptyset(&reset);
	sigaddset(&reset, SIGPIPE);
	posix_spawnattr_init(&attr);
	/* Its own process group: a Ctrl-C meant for a foreground lispvmd
	 * must not cut a snapshot short. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &reset);
	*error = posix_spawnp(&pid, argv[0], &actions, &attr, (char *const *)argv,
			      (char *const *)env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	free(env);
	return *error == 0 ? pid : -1;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* All the command writes, up to its end (out keeps the start): 0, or -1
 * when the deadline passed or the daemon began to end first. */
static int drain(int fd, char *out, size_t out_size, long deadline)
{
	char rest[4096];
	size_t have = 0;
	ssize_t n;
	int rc = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		bool room = have < out_size - 1;

		if (vm_table_closing() || now_ms() >= deadline) {
			rc = -1;
			break;
		}
		if (poll(&p, 1, 100) == 0)
			continue;
		n = room ? read(fd, out + have, out_size - 1 - have) : read(fd, rest, sizeof(rest));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			have += (size_t)n;
	}
	out[have] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return rc;
}

int lispvm_command_run(const char *const *argv, int timeout_s, char *out, size_t out_size)
{
	int pipe_fds[2], error, status = -1;
	bool cut_short;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		snprintf(out, out_size, "cannot run %s: %s", argv[0], strerror(errno));
		return -1;
	}
	pid = spawn(argv, pipe_fds[1], &error);
	close(pipe_fds[1]);
	if (pid < 0) {
		close(pipe_fds[0]);
		snprintf(out, out_size, "cannot run %s: %s", argv[0], strerror(error));
		return -1;
	}
	cut_short = drain(pipe_fds[0], out, out_size, now_ms() + (long)timeout_s * 1000) < 0;
	close(pipe_fds[0]);
	if (cut_short)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (cut_short) {
		snprintf(out, out_size, "lispvm %s did not finish %s", argv[1],
			 vm_table_closing() ? "before lispvmd ended" : "in time");
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (out[0] == '\0')
		snprintf(out, out_size, "lispvm %s failed (status %d)", argv[1], status);
	return -1;
}
