/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "lispvm_command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
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
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &reset);
	*error = posix_spawnp(&pid, argv[0], &actions, &attr, (char *const *)argv,
			      (char *const *)env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	free(env);
	return *error == 0 ? pid : -1;
}

/* All the command writes, up to its end; out keeps the start. */
static void drain(int fd, char *out, size_t out_size)
{
	char rest[4096];
	size_t have = 0;
	ssize_t n;

	for (;;) {
		bool room = have < out_size - 1;

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
}

int lispvm_command_run(const char *const *argv, char *out, size_t out_size)
{
	int pipe_fds[2], error, status = -1;
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
	drain(pipe_fds[0], out, out_size);
	close(pipe_fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (out[0] == '\0')
		snprintf(out, out_size, "lispvm %s failed (status %d)", argv[1], status);
	return -1;
}
