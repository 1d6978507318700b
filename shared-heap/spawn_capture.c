/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "spawn_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Enough for any ldd listing; a chattier stream keeps only its tail, which
 * is where the reason for a failure is. */
#define CAPTURE_LIMIT (1u << 20)

struct buffer {
	char *data;
	size_t len;
	size_t cap;
};

static int buffer_append(struct buffer *b, const char *bytes, size_t n)
{
	if (b->len + n + 1 > CAPTURE_LIMIT) {
		size_t keep = CAPTURE_LIMIT / 2 < b->len ? CAPTURE_LIMIT / 2 : b->len;

		memmove(b->data, b->data + b->len - keep, keep);
		b->len = keep;
		if (n > CAPTURE_LIMIT / 2) {
			bytes += n - CAPTURE_LIMIT / 2;
			n = CAPTURE_LIMIT / 2;
		}
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *data;

		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL)
			return -1;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Drains both pipes together: a child blocked writing a full stderr pipe
 * while we wait on stdout would never exit. */
static int drain(int fds[2], struct buffer bufs[2])
{
	struct pollfd pfd[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
	char chunk[65536];

	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return errno;
			if (n == 0)
				pfd[i].fd = -1;
			else if (buffer_append(&bufs[i], chunk, (size_t)n) < 0)
				return ENOMEM;
		}
	}
	return 0;
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

static int spawn_with_pipes(char *const argv[], char *const envp[], int out_w, int err_w,
			    pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	int rc;

	rc = posix_spawn_file_actions_init(&actions);
	if (rc != 0)
		return rc;
	rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&actions, out_w, STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&actions, err_w, STDERR_FILENO);
	if (rc == 0)
		rc = posix_spawnp(pid, argv[0], &actions, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

/* Reads both streams to their end, then reaps the child. Takes the read
 * ends: they are closed before waiting, so a child still writing after a
 * failed read gets EPIPE instead of blocking forever. */
static int collect(pid_t pid, int out_fd, int err_fd, struct spawn_capture *res)
{
	struct buffer bufs[2] = {{0}, {0}};
	int fds[2] = {out_fd, err_fd};
	int rc, wait_rc;

	rc = drain(fds, bufs);
	close(out_fd);
	close(err_fd);
	wait_rc = wait_child(pid, &res->status);
	if (rc == 0)
		rc = wait_rc;
	/* Empty strings, not NULL, for a child that printed nothing. */
	if (rc == 0 && (buffer_append(&bufs[0], "", 0) < 0 || buffer_append(&bufs[1], "", 0) < 0))
		rc = ENOMEM;
	if (rc != 0) {
		free(bufs[0].data);
		free(bufs[1].data);
		return rc;
	}
	res->out = bufs[0].data;
	res->out_len = bufs[0].len;
	res->err = bufs[1].data;
	res->err_len = bufs[1].len;
	return 0;
}

int spawn_capture_run(char *const argv[], char *const envp[], struct spawn_capture *res)
{
	int out_pipe[2], err_pipe[2];
	pid_t pid;
	int rc;

	memset(res, 0, sizeof(*res));
	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		rc = errno;
		close(out_pipe[0]);
		close(out_pipe[1]);
		return rc;
	}
	rc = spawn_with_pipes(argv, envp, out_pipe[1], err_pipe[1], &pid);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (rc == 0)
		return collect(pid, out_pipe[0], err_pipe[0], res);
	close(out_pipe[0]);
	close(err_pipe[0]);
	return rc;
}

void spawn_capture_free(struct spawn_capture *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

void spawn_status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status %#x", (unsigned int)status);
}

/* Progress output redraws a line with \r: what is left is the last draw. */
static const char *last_draw(const char *line, size_t *len)
{
	const char *cr = memrchr(line, '\r', *len);

	if (cr == NULL)
		return line;
	*len -= (size_t)(cr + 1 - line);
	return cr + 1;
}

bool text_last_line(const char *text, const char *prefix, char *buf, size_t size)
{
	size_t plen = strlen(prefix);
	const char *found = "";
	size_t found_len = 0;
	bool any = false;

	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		size_t draw_len = len;
		const char *draw = last_draw(line, &draw_len);

		if (draw_len > plen && strncmp(draw, prefix, plen) == 0) {
			found = draw + plen;
			found_len = draw_len - plen;
			any = true;
		}
		line += len + (line[len] == '\n');
	}
	if (size == 0)
		return any;
	if (found_len >= size)
		found_len = size - 1;
	memcpy(buf, found, found_len);
	buf[found_len] = '\0';
	return any;
}
