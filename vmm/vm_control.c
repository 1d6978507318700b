/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* struct ucred */
#include "vm_control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device_thread.h"
#include "fd_pass.h"
#include "vcpu_kick.h"

/* A client has this long to send its request line. */
#define REQUEST_TIMEOUT_MS 5000
/* The kick is sent again this often until the vCPU takes the request: one
 * that lands while the vCPU thread is outside KVM_RUN can be lost. */
#define KICK_INTERVAL_MS 100

static bool same_user(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       (cred.uid == getuid() || cred.uid == 0);
}

/* One byte, and the descriptors sent with it (up to VM_CONTROL_MAX_FDS
 * in all; more, or any the kernel dropped, set *dropped). */
static ssize_t read_byte_and_fds(int fd, char *byte, int *fds, unsigned int *nr_fds, bool *dropped)
{
	unsigned int got;
	ssize_t n = fd_pass_recv(fd, byte, 1, 0, fds + *nr_fds, VM_CONTROL_MAX_FDS - *nr_fds, &got,
				 dropped);

	*nr_fds += got;
	return n;
}

/* One line from the client, without its newline: 0, or -1.  The
 * descriptors that come with it go to fds. */
static int read_line(int fd, char *line, size_t size, int *fds, unsigned int *nr_fds, bool *dropped)
{
	size_t have = 0;

	while (have < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, REQUEST_TIMEOUT_MS) <= 0)
			return -1;
		n = read_byte_and_fds(fd, line + have, fds, nr_fds, dropped);
		if (n <= 0)
			return -1;
		if (line[have] == '\n') {
			line[have] = '\0';
			return 0;
		}
		have++;
	}
	return -1;
}

static void answer(int fd, const char *text)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s\n", text);

	if (write(fd, line, (size_t)n) < 0) {
		/* the client went away: nothing to tell it */
	}
}

/* "SNAPSHOT|DIFF resume|stop /PATH" into req: NULL, or what is wrong. */
static const char *parse(const char *line, struct vm_control_request *req)
{
	const char *mode = strchr(line, ' '), *path;

	*req = (struct vm_control_request){0};
	if (mode == NULL || (strncmp(line, "SNAPSHOT ", 9) != 0 && strncmp(line, "DIFF ", 5) != 0))
		return "ERROR unknown request";
	req->diff = line[0] == 'D';
	mode++;
	if (strncmp(mode, "resume ", 7) == 0)
		req->stop = false;
	else if (strncmp(mode, "stop ", 5) == 0)
		req->stop = true;
	else
		return "ERROR unknown request";
	path = strchr(mode, ' ') + 1;
	if (path[0] != '/' || strlen(path) >= sizeof(req->path))
		return "ERROR the snapshot path must be absolute";
	strcpy(req->path, path);
	return NULL;
}

/* Hands the request to the vCPU thread and waits for its answer. */
static void carry_out(struct vm_control *c, int client, const struct vm_control_request *req)
{
	char text[sizeof(c->answer)];

	pthread_mutex_lock(&c->lock);
	c->request = *req;
	c->pending = true;
	c->done = false;
	while (!c->done && !c->closing) {
		struct timespec deadline = monotonic_deadline(KICK_INTERVAL_MS);

		vcpu_kick();
		pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
	}
	c->pending = false;
	snprintf(text, sizeof(text), "%s",
		 c->done ? c->answer : "ERROR the VM stopped before its snapshot was taken");
	pthread_mutex_unlock(&c->lock);
	answer(client, text);
}

static void serve(struct vm_control *c, int client)
{
	static struct vm_control_request req;
	char line[VM_CONTROL_LINE_MAX + 32];
	int fds[VM_CONTROL_MAX_FDS];
	unsigned int nr_fds = 0;
	bool dropped = false; /* descriptors beyond those a request takes */
	const char *wrong;

	if (!same_user(client)) {
		answer(client, "ERROR not this VM's user");
		return;
	}
	if (read_line(client, line, sizeof(line), fds, &nr_fds, &dropped) < 0) {
		answer(client, "ERROR no request line");
	} else if ((wrong = parse(line, &req)) != NULL) {
		answer(client, wrong);
	} else if (req.diff &&
		   (read_line(client, req.base, sizeof(req.base), fds, &nr_fds, &dropped) < 0 ||
		    req.base[0] != '/')) {
		answer(client, "ERROR a diff needs the absolute path of its base");
	} else if (dropped || nr_fds != (req.diff ? 2u : 1u)) {
		answer(client, req.diff ? "ERROR a diff comes with its file and its base, open"
					: "ERROR a snapshot comes with its file, open");
	} else {
		req.out_fd = fds[0];
		req.base_fd = req.diff ? fds[1] : -1;
		carry_out(c, client, &req);
	}
	/* The vCPU thread is done with them: it answered, or stops. */
	for (unsigned int i = 0; i < nr_fds; i++)
		close(fds[i]);
}

static void *control_thread(void *arg)
{
	struct vm_control *c = arg;

	for (;;) {
		struct pollfd fds[2] = {{.fd = c->stop_fd, .events = POLLIN},
					{.fd = c->listen_fd, .events = POLLIN}};
		int client;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (!fds[1].revents)
			continue;
		client = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0)
			continue;
		serve(c, client);
		close(client);
	}
	return NULL;
}

static int bind_at(struct vm_control *c, const char *path, char *err, size_t err_size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	strcpy(addr.sun_path, path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(err, err_size, "control socket %s: %s", path, strerror(errno));
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		c->listen_fd = -1; /* not ours: close must not remove what is there */
		return -1;
	}
	c->bound_path = true;
	if (listen(c->listen_fd, 8) < 0) {
		snprintf(err, err_size, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int vm_control_open(struct vm_control *c, const char *path, int listen_fd, char *err,
		    size_t err_size)
{
	*c = (struct vm_control){.opened = true, .listen_fd = -1, .stop_fd = -1};
	pthread_mutex_init(&c->lock, NULL);
	monotonic_cond_init(&c->cond);
	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, err_size, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(c->path, path);
	if (listen_fd >= 0)
		c->listen_fd = listen_fd;
	else if (bind_at(c, path, err, err_size) < 0)
		return -1;
	if ((c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, err_size, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (device_thread_start(&c->thread, control_thread, c, SANDBOX_CONTROL, err, err_size) < 0)
		return -1;
	c->thread_started = true;
	return 0;
}

const struct vm_control_request *vm_control_pending(struct vm_control *c)
{
	const struct vm_control_request *req = NULL;

	if (!c->opened)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if (c->pending && !c->done)
		req = &c->request;
	pthread_mutex_unlock(&c->lock);
	return req;
}

void vm_control_finish(struct vm_control *c, const char *text)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->answer, sizeof(c->answer), "%s", text);
	c->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void vm_control_close(struct vm_control *c)
{
	uint64_t one = 1;

	if (!c->opened)
		return;
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->thread_started && write(c->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(c->thread, NULL);
	c->thread_started = false;
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->bound_path)
		unlinkat(AT_FDCWD, c->path, 0);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->listen_fd = c->stop_fd = -1;
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	c->opened = false;
}
