/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "process_start.h"
#include "vm_files.h"
#include "vm_user.h"

/* A line longer than this is logged in pieces of it. */
#define LINE_MAX_BYTES 16384

struct stream {
	const char *name; /* "stdout" or "stderr" */
	int fd;
	char line[LINE_MAX_BYTES];
	size_t len;
};

struct log {
	const char *dir;
	int fd;
	uint64_t cap, size;
};

/* Bytes in a UTF-8 sequence starting at s (at most n), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

char *monitor_utf8_clean(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	char *out = malloc(len * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(s + i, len - i);

		if (n == 0) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			i++;
		} else {
			memcpy(p, s + i, n);
			p += n;
			i += n;
		}
	}
	*p = '\0';
	return out;
}

static int open_log(struct log *log)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", log->dir, VM_FILE_LOG);
	log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log->fd < 0)
		return -1;
	log->size = fstat(log->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* At half the cap the log becomes log.1 (the older half) and a new one
 * starts: at most the cap is kept, and the newest half always. */
static void rotate_if_full(struct log *log)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (log->size < log->cap / 2)
		return;
	snprintf(from, sizeof(from), "%s/%s", log->dir, VM_FILE_LOG);
	snprintf(to, sizeof(to), "%s/%s", log->dir, VM_FILE_LOG_OLD);
	close(log->fd);
	rename(from, to);
	if (open_log(log) < 0)
		log->fd = -1;
}

/* partial: the bytes did not end with a newline (a line split at the
 * buffer's size, or the stream's last bytes), so a reader that rebuilds the
 * output adds none. */
static void write_line(struct log *log, const char *stream, const char *bytes, size_t len,
		       bool partial)
{
	struct json_object *entry = json_object_new_object();
	char *text = monitor_utf8_clean(bytes, len);
	const char *json;

	if (entry == NULL || text == NULL || log->fd < 0) {
		json_object_put(entry);
		free(text);
		return;
	}
	json_object_object_add(entry, "time", json_object_new_double(vm_files_now()));
	json_object_object_add(entry, "stream", json_object_new_string(stream));
	json_object_object_add(entry, "line", json_object_new_string(text));
	if (partial)
		json_object_object_add(entry, "partial", json_object_new_boolean(true));
	json = json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(json);

	if (write(log->fd, json, n) == (ssize_t)n && write(log->fd, "\n", 1) == 1)
		log->size += n + 1;
	json_object_put(entry);
	free(text);
	rotate_if_full(log);
}

/* New bytes from a stream: each whole line logged, the rest kept. */
static void take(struct log *log, struct stream *s, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			write_line(log, s->name, s->line, s->len, false);
			s->len = 0;
			continue;
		}
		if (s->len == sizeof(s->line)) {
			write_line(log, s->name, s->line, s->len, true);
			s->len = 0;
		}
		s->line[s->len++] = data[i];
	}
}

/* The stream is done with: its last line (without its newline) logged,
 * its pipe closed. */
static void end_stream(struct log *log, struct stream *s)
{
	if (s->len > 0)
		write_line(log, s->name, s->line, s->len, true);
	s->len = 0;
	close(s->fd);
	s->fd = -1;
}

/* One read from a stream that poll said is ready: 0 while it may give
 * more, -1 once it ended (end_stream) or, non-blocking, has no more now. */
static int read_stream(struct log *log, struct stream *s, char *buf, size_t size)
{
	ssize_t n = read(s->fd, buf, size);

	if (n > 0) {
		take(log, s, buf, (size_t)n);
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0 && errno == EAGAIN) /* drained, and still open */
		return -1;
	end_stream(log, s);
	return -1;
}

/* What the VM's process wrote before it ended is in the pipes: taken
 * without waiting, as a process it left behind may hold them open. */
static void drain(struct log *log, struct stream *streams, char *buf, size_t size)
{
	for (int i = 0; i < 2; i++) {
		if (streams[i].fd < 0)
			continue;
		fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);
		while (streams[i].fd >= 0 && read_stream(log, &streams[i], buf, size) == 0)
			;
		if (streams[i].fd >= 0)
			end_stream(log, &streams[i]);
	}
}

/* The VM's output, until its process ended (pidfd readable) or both
 * pipes closed. */
static void relay(struct log *log, struct stream *streams, int pidfd)
{
	static char buf[65536];

	while (streams[0].fd >= 0 || streams[1].fd >= 0) {
		struct pollfd p[3] = {{.fd = streams[0].fd, .events = POLLIN},
				      {.fd = streams[1].fd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++)
			if (streams[i].fd >= 0 && p[i].revents != 0)
				read_stream(log, &streams[i], buf, sizeof(buf));
		if (p[2].revents != 0) {
			drain(log, streams, buf, sizeof(buf));
			return;
		}
	}
}

/* Starts the command; -1 with errno (the exec's own, when it failed):
 * a close-on-exec pipe reports the exec's errno, or closes on success. */
static pid_t start_command(char **command, const struct vm_user *user, int out, int err)
{
	int status[2], error = 0;
	pid_t pid;

	if (pipe2(status, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* The VM runs with its caller's rights; the monitor, which
		 * writes what the daemon reads back, with the daemon's. */
		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
		    vm_user_become(user) < 0)
			error = errno;
		else {
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			/* A daemon started from a shell's background job ignores
			 * INT and QUIT; the VM must not inherit that, or 'kill
			 * -s INT' would do nothing. */
			for (int signo = 1; signo < NSIG; signo++)
				if (signo != SIGKILL && signo != SIGSTOP)
					signal(signo, SIG_DFL);
			execvp(command[0], command);
			error = errno;
		}
		(void)write(status[1], &error, sizeof(error));
		_exit(127);
	}
	close(status[1]);
	if (pid > 0 && read(status[0], &error, sizeof(error)) == (ssize_t)sizeof(error)) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(status[0]);
	errno = error;
	return pid;
}

static void record_state(const char *dir, pid_t pid)
{
	struct json_object *state = json_object_new_object();

	json_object_object_add(state, "monitor_pid", json_object_new_int(getpid()));
	json_object_object_add(state, "pid", json_object_new_int(pid));
	json_object_object_add(state, "pid_start",
			       json_object_new_int64((int64_t)process_start_time(pid)));
	json_object_object_add(state, "started", json_object_new_double(vm_files_now()));
	vm_files_write(dir, VM_FILE_STATE, state);
	json_object_put(state);
}

static void record_exit(const char *dir, int status)
{
	struct json_object *end = json_object_new_object();

	json_object_object_add(end, "exit_code",
			       WIFEXITED(status) ? json_object_new_int(WEXITSTATUS(status)) : NULL);
	json_object_object_add(end, "signal",
			       WIFSIGNALED(status) ? json_object_new_int(WTERMSIG(status)) : NULL);
	json_object_object_add(end, "ended", json_object_new_double(vm_files_now()));
	vm_files_write(dir, VM_FILE_EXIT, end);
	json_object_put(end);
}

int monitor_main(int argc, char **argv)
{
	struct stream streams[2] = {{.name = "stdout"}, {.name = "stderr"}};
	static struct vm_user user; /* groups and strings: not on the stack */
	struct log log;
	int out[2], err[2], ready, status;
	char *end;
	pid_t pid;

	if (argc < 8 || strcmp(argv[1], "--monitor") != 0 || strcmp(argv[6], "--") != 0 ||
	    vm_user_parse(argv[5], &user) < 0)
		return 2;
	log.dir = argv[2];
	log.cap = strtoull(argv[3], &end, 10);
	ready = (int)strtol(argv[4], NULL, 10);
	fcntl(ready, F_SETFD, FD_CLOEXEC); /* the VM must not hold it open */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (open_log(&log) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		dprintf(ready, "failed cannot open the VM's log or pipes: %s\n", strerror(errno));
		return 1;
	}
	pid = start_command(argv + 7, &user, out[1], err[1]);
	if (pid < 0) {
		dprintf(ready, "failed cannot run %s: %s\n", argv[7], strerror(errno));
		return 1;
	}
	close(out[1]);
	close(err[1]);
	record_state(log.dir, pid);
	dprintf(ready, "started %d\n", (int)pid);
	close(ready);
	streams[0].fd = out[0];
	streams[1].fd = err[0];
	relay(&log, streams, (int)syscall(SYS_pidfd_open, pid, 0));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	record_exit(log.dir, status);
	return 0;
}
