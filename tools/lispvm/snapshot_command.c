/* SPDX-License-Identifier: MIT */
#include "snapshot_command.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent_gc.h"
#include "fd_pass.h"
#include "snapshot_paths.h"
#include "vm_control.h"
#include "vm_socket.h"
#include "vsock_connect.h"

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "lispvm: snapshot: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	return LISPVM_EXIT_HOST_ERROR;
}

/* The VM's vsock socket, and its control socket: the same path plus the
 * suffix. */
static int vm_paths(const char *target, char *vsock, size_t vsock_size, char *control,
		    size_t control_size)
{
	char err[4096 + 128];

	if (vm_socket_resolve(target, vsock, vsock_size, err, sizeof(err)) < 0)
		return fail(err, NULL);
	if ((size_t)snprintf(control, control_size, "%s%s", vsock, VM_CONTROL_SUFFIX) >=
	    control_size)
		return fail("VM socket path too long", vsock);
	return 0;
}

/* The VMM runs elsewhere: it needs the file's absolute path. */
static int absolute(const char *file, char *out, size_t size)
{
	char cwd[PATH_MAX];

	if (file[0] == '/')
		return (size_t)snprintf(out, size, "%s", file) < size ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, size, "%s/%s", cwd, file) < size ? 0 : -1;
}

/* The VMM's one-line answer, without its newline. */
static int read_answer(int fd, char *line, size_t size)
{
	size_t have = 0;

	while (have < size - 1) {
		ssize_t n = read(fd, line + have, size - 1 - have);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		line[have] = '\0';
		if ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			return 0;
		}
	}
	return -1;
}

static int report(const char *file, const char *answer)
{
	uint64_t bytes;
	double seconds;

	if (strncmp(answer, "ERROR ", 6) == 0)
		return fail(answer + 6, NULL);
	if (sscanf(answer, "OK %" SCNu64 " %lf", &bytes, &seconds) != 2)
		return fail("unexpected answer from the VM", answer);
	printf("%s: %.1f MiB stored in %.2f s\n", file, (double)bytes / (1 << 20), seconds);
	return 0;
}

/* A diff must not replace a file of the chain it is taken over, nor make
 * the chain longer than a restore follows.  The chain is read here, where
 * its files are in sight (a jailed VMM sees none of them). */
static int check_diff_target(const char *file, const char *base)
{
	struct snapshot_paths *chain = calloc(1, sizeof(*chain));
	const char *paths[SNAPSHOT_MAX_CHAIN];
	char err[4096 + 256];
	int rc = 0;

	if (chain == NULL)
		return fail("out of memory", NULL);
	if (snapshot_paths_read(base, chain, err, sizeof(err)) < 0) {
		rc = fail(err, NULL);
	} else {
		for (unsigned int i = 0; i < chain->nr_chain; i++)
			paths[i] = chain->chain[i];
		if (snapshot_chain_check_diff_target(paths, chain->nr_chain, file, err,
						     sizeof(err)) < 0)
			rc = fail(err, NULL);
	}
	free(chain);
	return rc;
}

/* Sends the request with the new file (and the base) and waits for the
 * answer: 0 with it in answer, or lispvm's exit status. */
static int ask(const char *control, const char *request, int out_fd, int base_fd, char *answer,
	       size_t answer_size)
{
	int fds[VM_CONTROL_MAX_FDS] = {out_fd, base_fd};
	int sock = unix_stream_connect(control);

	if (sock < 0)
		return fail(control, errno == ENOENT || errno == ECONNREFUSED
					     ? "no VM answers there (was it started with "
					       "--attachable, --swank or --vsock?)"
					     : strerror(errno));
	if (fd_pass_send(sock,
			 &(struct iovec){.iov_base = (void *)request, .iov_len = strlen(request)},
			 1, fds, base_fd >= 0 ? 2 : 1) < 0 ||
	    read_answer(sock, answer, answer_size) < 0) {
		close(sock);
		return fail("the VM closed its control socket without an answer", NULL);
	}
	close(sock);
	return 0;
}

/* The file being written, removed if this command is stopped meanwhile
 * (a snapshot takes seconds): nothing half-made is left beside FILE. */
static char removing_on_signal[PATH_MAX + 32];

static void remove_and_die(int sig)
{
	unlink(removing_on_signal);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void remove_on_signals(const char *tmp)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

	snprintf(removing_on_signal, sizeof(removing_on_signal), "%s", tmp != NULL ? tmp : "");
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		signal(signals[i], tmp != NULL ? remove_and_die : SIG_DFL);
}

/* FILE.tmp-PID, empty and new, beside FILE: renamed to it once whole.
 * Its descriptor, or -1 after saying why. */
static int make_new_file(const char *path, char *tmp, size_t tmp_size)
{
	int fd;

	if ((size_t)snprintf(tmp, tmp_size, "%s.tmp-%d", path, (int)getpid()) >= tmp_size) {
		fail(path, "path too long");
		return -1;
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "lispvm: snapshot: cannot write snapshot %s: %s\n", path,
			strerror(errno));
	return fd;
}

int snapshot_command(const struct snapshot_request *req)
{
	char vsock[4096], control[4096 + 16], path[PATH_MAX], base_path[PATH_MAX];
	char request[2 * PATH_MAX + 32], answer[1024], err[4096 + 256], tmp[PATH_MAX + 32];
	int fd, base_fd = -1, n, rc;

	if ((rc = vm_paths(req->target, vsock, sizeof(vsock), control, sizeof(control))) != 0)
		return rc;
	if (absolute(req->file, path, sizeof(path)) < 0 || strchr(path, '\n') != NULL)
		return fail(req->file, "path too long, or no working directory");
	/* The diff records its base by this name, for restores anywhere. */
	if (req->base != NULL && realpath(req->base, base_path) == NULL)
		return fail(req->base, strerror(errno));
	if (req->base != NULL && strchr(base_path, '\n') != NULL)
		return fail(req->base, "a newline in the path");
	if (req->collect && agent_collect_garbage(vsock, AGENT_GC_TIMEOUT_MS, err, sizeof(err)) < 0)
		return fail(err, NULL);
	if (req->base != NULL && check_diff_target(path, base_path) != 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (req->base != NULL &&
	    (base_fd = open(base_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return fail(base_path, strerror(errno));
	if ((fd = make_new_file(path, tmp, sizeof(tmp))) < 0) {
		if (base_fd >= 0)
			close(base_fd);
		return LISPVM_EXIT_HOST_ERROR;
	}
	remove_on_signals(tmp);
	n = req->base == NULL ? snprintf(request, sizeof(request), "SNAPSHOT %s %s\n",
					 req->stop ? "stop" : "resume", path)
			      : snprintf(request, sizeof(request), "DIFF %s %s\n%s\n",
					 req->stop ? "stop" : "resume", path, base_path);
	rc = n < (int)sizeof(request) ? ask(control, request, fd, base_fd, answer, sizeof(answer))
				      : fail(path, "path too long");
	close(fd);
	if (base_fd >= 0)
		close(base_fd);
	if (rc == 0 && strncmp(answer, "OK ", 3) == 0 && rename(tmp, path) < 0)
		snprintf(answer, sizeof(answer), "ERROR cannot name the snapshot %.900s: %s", path,
			 strerror(errno));
	if (rc != 0 || strncmp(answer, "OK ", 3) != 0)
		unlink(tmp);
	remove_on_signals(NULL);
	if (rc != 0)
		return rc;
	return report(req->file, answer);
}
