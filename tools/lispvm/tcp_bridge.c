/* SPDX-License-Identifier: MIT */
/* The bridge lives as long as lispvm: its threads end with the process,
 * and a relay whose VM is gone sees its stream close. */
#define _GNU_SOURCE /* accept4 */
#include "tcp_bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "device_thread.h"
#include "vsock_connect.h"

/* How long a client waits for the guest's listener. */
#define GUEST_WAIT_MS 120000
#define RETRY_MS      100

struct relay {
	int client;
	const struct tcp_bridge *bridge;
};

static int connect_guest(const struct tcp_bridge *b)
{
	char err[512];

	for (int waited = 0; waited < GUEST_WAIT_MS; waited += RETRY_MS) {
		int fd = vsock_connect(b->vsock_path, b->guest_port, err, sizeof(err));

		if (fd >= 0)
			return fd;
		nanosleep(&(struct timespec){.tv_nsec = RETRY_MS * 1000000L}, NULL);
	}
	return -1;
}

/* Copies what is there; false at the end of `from` or an error. */
static bool pass(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	for (ssize_t done = 0; done < n;) {
		ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		done += w;
	}
	return true;
}

/* Until both sides have ended; one side's end is passed on as a
 * half-close, so the other's last reply still arrives. */
static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	int guest = connect_guest(r->bridge);
	bool client_open = true, guest_open = true;

	while (guest >= 0 && (client_open || guest_open)) {
		struct pollfd p[2] = {{.fd = client_open ? r->client : -1, .events = POLLIN},
				      {.fd = guest_open ? guest : -1, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && !pass(r->client, guest)) {
			client_open = false;
			shutdown(guest, SHUT_WR);
		}
		if (p[1].revents && !pass(guest, r->client)) {
			guest_open = false;
			shutdown(r->client, SHUT_WR);
		}
	}
	if (guest >= 0)
		close(guest);
	close(r->client);
	free(r);
	return NULL;
}

static void *accept_thread(void *arg)
{
	struct tcp_bridge *b = arg;

	for (;;) {
		int client = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		struct relay *r;
		pthread_t t;
		char err[256];

		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		r = malloc(sizeof(*r));
		if (r == NULL) {
			close(client);
			continue;
		}
		*r = (struct relay){.client = client, .bridge = b};
		if (device_thread_start(&t, relay_thread, r, SANDBOX_SAME_AS_CREATOR, err,
					sizeof(err)) < 0) {
			close(client);
			free(r);
			continue;
		}
		pthread_detach(t);
	}
}

int tcp_bridge_start(struct tcp_bridge *b, unsigned int port, const char *vsock_path,
		     unsigned int guest_port, char *err, size_t err_size)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;

	*b = (struct tcp_bridge){.vsock_path = vsock_path, .guest_port = guest_port};
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 ||
	    setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(b->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(b->listen_fd, 16) < 0) {
		snprintf(err, err_size, "--swank: cannot listen on 127.0.0.1:%u: %s", port,
			 strerror(errno));
		if (b->listen_fd >= 0)
			close(b->listen_fd);
		return -1;
	}
	if (device_thread_start(&b->thread, accept_thread, b, SANDBOX_SWANK_BRIDGE, err, err_size) <
	    0)
		return -1;
	pthread_detach(b->thread);
	return 0;
}
