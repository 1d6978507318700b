/* SPDX-License-Identifier: MIT */
/*
 * One evaluation in an attach session of its own: the agent's REPL reads
 * the form, collects, and prints a marker line, which is all this waits
 * for (the prompt and anything else the session prints are skipped).
 * The marker is printed from a keyword, so the form itself, were it ever
 * echoed, would show it with its colon and not match.
 */
#include "agent_gc.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent.h"
#include "vm_socket.h"
#include "vsock_connect.h"

#define GC_MARK "lispvm-collected"

static const char gc_form[] = "(progn (sb-ext:gc :full t) (format t \"~&~(~A~)~%\" :" GC_MARK
			      ") (finish-output) (values))\n";

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The mark on a line of its own (after the REPL's prompt, perhaps). */
static bool has_mark(const char *text)
{
	for (const char *p = strstr(text, GC_MARK "\n"); p; p = strstr(p + 1, GC_MARK "\n"))
		if (p == text || p[-1] == '\n' || p[-1] == ' ')
			return true;
	return false;
}

/* Reads until the mark: 0, or -1 at the end of the stream or the deadline. */
static int wait_for_mark(int fd, long deadline)
{
	char text[4096 + 1];
	size_t have = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;
		int ready;

		if (left <= 0 || (ready = poll(&p, 1, (int)left)) == 0)
			return -1;
		if (ready < 0) { /* a signal: wait again, not in a blocking read */
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = read(fd, text + have, sizeof(text) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		text[have] = '\0';
		if (has_mark(text))
			return 0;
		if (have > sizeof(text) / 2) { /* keep the tail: the mark may straddle */
			memmove(text, text + have - 64, 64);
			have = 64;
		}
	}
}

int agent_collect_garbage(const char *vsock_path, int timeout_ms, char *err, size_t err_size)
{
	long deadline = now_ms() + timeout_ms;
	char why[4096 + 128];
	int fd = vsock_connect(vsock_path, AGENT_ATTACH_PORT, why, sizeof(why));
	int rc = -1;

	if (fd < 0) {
		snprintf(err, err_size,
			 "no attach agent answers (was the VM run --attachable?): %s", why);
		return -1;
	}
	if (write(fd, gc_form, sizeof(gc_form) - 1) != (ssize_t)(sizeof(gc_form) - 1))
		snprintf(err, err_size, "the attach agent's session closed");
	else if (wait_for_mark(fd, deadline) < 0)
		snprintf(err, err_size, "the attach agent did not finish a collection in %d s",
			 timeout_ms / 1000);
	else
		rc = 0;
	shutdown(fd, SHUT_WR); /* ends the session: the agent closes it */
	close(fd);
	return rc;
}

int agent_gc_command(const char *target)
{
	char vsock[4096], err[4096 + 256];
	long started = now_ms();

	if (vm_socket_resolve(target, vsock, sizeof(vsock), err, sizeof(err)) < 0 ||
	    agent_collect_garbage(vsock, AGENT_GC_TIMEOUT_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "lispvm: gc: %s\n", err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	printf("%s: garbage collected in %.2f s\n", target != NULL ? target : vsock,
	       (double)(now_ms() - started) / 1000);
	return 0;
}
