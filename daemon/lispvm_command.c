/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "lispvm_command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotonic_time.h"
#include "vm_table.h"
#include "vm_user.h"

/* The child: argv as u, its output into out, in a session of its own
 * (no terminal of a foreground lispvmd's for a process its user may
 * ptrace; a Ctrl-C meant for the daemon must not cut a snapshot short),
 * in /, with no other descriptor of the daemon's, without its blocked
 * SIGTERM and ignored SIGPIPE.  Only async-signal-safe calls: the
 * daemon has threads (strerrordesc_np, unlike strerror, takes no
 * lock). */
static void exec_command(const char *const *argv, const struct vm_user *u, const char *const *env,
			 const int fds[3])
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int in = fds[0] >= 0 ? fds[0] : null;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || setsid() < 0 || dup2(in, 0) < 0 || dup2(fds[1], 1) < 0 ||
	    dup2(fds[2], 2) < 0 || close_range(3, ~0u, 0) < 0 || chdir("/") < 0 ||
	    vm_user_become(u) < 0) {
		dprintf(2, "cannot run %s: %s\n", argv[0], strerrordesc_np(errno));
		_exit(127);
	}
	execvpe(argv[0], (char *const *)argv, (char *const *)env);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerrordesc_np(errno));
	_exit(127);
}

/* The user's environment and one more variable (NULL: none), or NULL. */
static const char **environment(const struct vm_user *u, const char *extra)
{
	size_t n = 0;
	const char **env;

	while (u->env[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	memcpy(env, u->env, n * sizeof(*env));
	env[n] = extra;
	return env;
}

pid_t lispvm_command_spawn(const char *const *argv, uid_t caller, const int fds[3],
			   const char *extra_env, char *err, size_t err_size)
{
	struct vm_user *u = vm_user_open(caller, err, err_size);
	const char **env;
	pid_t pid = -1;

	if (u == NULL)
		return -1;
	env = environment(u, extra_env);
	if (env == NULL)
		snprintf(err, err_size, "out of memory");
	else if ((pid = fork()) == 0)
		exec_command(argv, u, env, fds);
	else if (pid < 0)
		snprintf(err, err_size, "cannot run %s: %s", argv[0], strerror(errno));
	free(env);
	vm_user_close(u);
	return pid;
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

		if (vm_table_closing() || monotonic_ms() >= deadline) {
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

int lispvm_command_run(const char *const *argv, uid_t caller, int timeout_s, char *out,
		       size_t out_size)
{
	int pipe_fds[2], status = -1;
	bool cut_short;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		snprintf(out, out_size, "cannot run %s: %s", argv[0], strerror(errno));
		return -1;
	}
	pid = lispvm_command_spawn(argv, caller, (const int[3]){-1, pipe_fds[1], pipe_fds[1]}, NULL,
				   out, out_size);
	close(pipe_fds[1]);
	if (pid < 0) {
		close(pipe_fds[0]);
		return -1;
	}
	cut_short = drain(pipe_fds[0], out, out_size, monotonic_ms() + (long)timeout_s * 1000) < 0;
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
