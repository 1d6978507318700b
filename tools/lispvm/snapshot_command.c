/* SPDX-License-Identifier: MIT */
#include "snapshot_command.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent_gc.h"
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

int snapshot_command(const struct snapshot_request *req)
{
	char vsock[4096], control[4096 + 16], path[PATH_MAX], base_path[PATH_MAX];
	char request[2 * PATH_MAX + 32], answer[1024], err[4096 + 256];
	int fd, n, rc;

	if ((rc = vm_paths(req->target, vsock, sizeof(vsock), control, sizeof(control))) != 0)
		return rc;
	if (absolute(req->file, path, sizeof(path)) < 0 || strchr(path, '\n') != NULL)
		return fail(req->file, "path too long, or no working directory");
	if (req->base != NULL && (absolute(req->base, base_path, sizeof(base_path)) < 0 ||
				  strchr(base_path, '\n') != NULL))
		return fail(req->base, "path too long, or no working directory");
	if (req->collect && agent_collect_garbage(vsock, AGENT_GC_TIMEOUT_MS, err, sizeof(err)) < 0)
		return fail(err, NULL);
	fd = unix_stream_connect(control);
	if (fd < 0)
		return fail(control, errno == ENOENT || errno == ECONNREFUSED
					     ? "no VM answers there (was it started with "
					       "--attachable, --swank or --vsock?)"
					     : strerror(errno));
	n = req->base == NULL ? snprintf(request, sizeof(request), "SNAPSHOT %s %s\n",
					 req->stop ? "stop" : "resume", path)
			      : snprintf(request, sizeof(request), "DIFF %s %s\n%s\n",
					 req->stop ? "stop" : "resume", path, base_path);
	if (write(fd, request, (size_t)n) != n || read_answer(fd, answer, sizeof(answer)) < 0) {
		close(fd);
		return fail("the VM closed its control socket without an answer", NULL);
	}
	close(fd);
	return report(req->file, answer);
}
