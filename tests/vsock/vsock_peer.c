/* SPDX-License-Identifier: MIT */
/*
 * The guest's end of the vsock tests (vsock.py drives the host's end):
 *   sink PORT          accept one stream, read it to its end, answer with
 *                      "<bytes> <sha256>\n" on it, close
 *   source PORT BYTES  connect to host port PORT, send BYTES of
 *                      pseudo-random data, close; print "<bytes> <sha256>"
 *   echo PORT N        serve N streams at once with epoll: each gets
 *                      back what it sent, once it has shut its side
 *   refused PORT       connect to host port PORT, where nobody listens;
 *                      print the errno name, then wait for stdin's end
 *   flood PORT         connect to host port PORT and write without
 *                      blocking until the credit runs out; print the bytes
 *                      sent, wait for a line on stdin, then send a last
 *                      byte (blocking), shut down and close
 * and for bench/vsock.py, the transport alone (no hashing):
 *   discard PORT       accept one stream, read it to its end, answer
 *                      "<bytes>\n", close
 *   blast PORT BYTES   connect to host port PORT, send BYTES zeros, close
 *   pingpong PORT      accept one stream and send back every read at once
 * Each prints "listening" once its listener is up.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "sha256.h"

static void die(const char *what)
{
	fprintf(stderr, "vsock_peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int listen_on(unsigned int port, int backlog)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bind");
	if (listen(fd, backlog) < 0)
		die("listen");
	printf("listening\n");
	fflush(stdout);
	return fd;
}

static int connect_to_host(unsigned int port)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		p += n;
		len -= (size_t)n;
	}
}

static void digest_line(struct sha256 *h, uint64_t bytes, char *line, size_t size)
{
	uint8_t d[32];
	int n = snprintf(line, size, "%llu ", (unsigned long long)bytes);

	sha256_final(h, d);
	for (int i = 0; i < 32; i++)
		n += snprintf(line + n, size - (size_t)n, "%02x", d[i]);
	snprintf(line + n, size - (size_t)n, "\n");
}

static int sink(unsigned int port)
{
	static char buf[1 << 16];
	int l = listen_on(port, 1), fd = accept(l, NULL, NULL);
	struct sha256 h;
	uint64_t total = 0;
	char line[128];
	ssize_t n;

	if (fd < 0)
		die("accept");
	sha256_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0)
		die("read");
	digest_line(&h, total, line, sizeof(line));
	write_all(fd, line, strlen(line));
	close(fd);
	close(l);
	return 0;
}

/* xorshift64: the same stream every run, cheap to make. */
static void fill(uint8_t *buf, size_t len, uint64_t *state)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = *state;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

static int source(unsigned int port, uint64_t bytes)
{
	static uint8_t buf[1 << 16];
	uint64_t state = 0x9e3779b97f4a7c15ull, sent = 0;
	struct sha256 h;
	char line[128];
	int fd = connect_to_host(port);

	if (fd < 0) {
		errno = -fd;
		die("connect");
	}
	sha256_init(&h);
	while (sent < bytes) {
		size_t n = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);

		fill(buf, n, &state);
		sha256_update(&h, buf, n);
		write_all(fd, buf, n);
		sent += n;
	}
	if (close(fd) < 0)
		die("close");
	digest_line(&h, sent, line, sizeof(line));
	fputs(line, stdout);
	return 0;
}

struct echo_conn {
	int fd;
	char buf[256];
	size_t len, sent;
	int done_reading;
};

static void serve_readable(struct echo_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0)
		die("read");
	if (n == 0 || c->len + (size_t)n == sizeof(c->buf))
		c->done_reading = 1;
	c->len += (size_t)n;
}

static void watch(int ep, int op, int fd, uint32_t events, int index)
{
	struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)index};

	if (epoll_ctl(ep, op, fd, &ev) < 0)
		die("epoll_ctl");
}

/* One thread, every stream in one epoll set, non-blocking throughout. */
static int echo(unsigned int port, int count)
{
	struct echo_conn *conns = calloc((size_t)count, sizeof(*conns));
	int l = listen_on(port, count), ep = epoll_create1(EPOLL_CLOEXEC), accepted = 0,
	    finished = 0;

	if (conns == NULL || ep < 0)
		die("setup");
	fcntl(l, F_SETFL, O_NONBLOCK);
	watch(ep, EPOLL_CTL_ADD, l, EPOLLIN, -1);
	while (finished < count) {
		struct epoll_event ev[16];
		int n = epoll_wait(ep, ev, 16, -1);

		if (n < 0)
			die("epoll_wait");
		for (int e = 0; e < n; e++) {
			struct echo_conn *c;
			ssize_t w;

			if ((int)ev[e].data.u32 == -1) {
				int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);

				if (fd < 0 && errno != EAGAIN)
					die("accept4");
				if (fd >= 0 && accepted < count) {
					conns[accepted].fd = fd;
					watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN, accepted++);
				}
				continue;
			}
			c = &conns[ev[e].data.u32];
			if (!c->done_reading) {
				serve_readable(c);
				if (c->done_reading)
					watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT,
					      (int)ev[e].data.u32);
				continue;
			}
			w = write(c->fd, c->buf + c->sent, c->len - c->sent);
			if (w < 0 && errno != EAGAIN)
				die("write");
			if (w > 0)
				c->sent += (size_t)w;
			if (c->sent == c->len) {
				close(c->fd); /* leaves the epoll set with it */
				c->fd = -1;
				finished++;
			}
		}
	}
	printf("served %d\n", finished);
	return 0;
}

static void wait_for_stdin_line(void)
{
	char line[64];

	if (fgets(line, sizeof(line), stdin) == NULL)
		return;
}

static int refused(unsigned int port)
{
	int fd = connect_to_host(port);

	printf("%s\n", fd == -ECONNRESET ? "ECONNRESET" : fd < 0 ? strerror(-fd) : "connected");
	fflush(stdout);
	wait_for_stdin_line();
	return 0;
}

static int flood(unsigned int port)
{
	static uint8_t buf[1 << 16];
	uint64_t sent = 0;
	struct pollfd p;
	int fd = connect_to_host(port);

	if (fd < 0) {
		errno = -fd;
		die("connect");
	}
	memset(buf, 'x', sizeof(buf));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n < 0 && errno == EAGAIN) {
			/* Blocked: still so a moment later? */
			p = (struct pollfd){.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 300) == 0)
				break;
			continue;
		}
		if (n < 0)
			die("write");
		sent += (uint64_t)n;
	}
	printf("blocked after %llu\n", (unsigned long long)sent);
	fflush(stdout);
	wait_for_stdin_line();
	fcntl(fd, F_SETFL, 0);
	write_all(fd, "!", 1);
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	close(fd);
	printf("sent %llu\n", (unsigned long long)sent + 1);
	return 0;
}

static int discard(unsigned int port)
{
	static char buf[1 << 16];
	int l = listen_on(port, 1), fd = accept(l, NULL, NULL);
	uint64_t total = 0;
	char line[32];
	ssize_t n;

	if (fd < 0)
		die("accept");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	snprintf(line, sizeof(line), "%llu\n", (unsigned long long)total);
	write_all(fd, line, strlen(line));
	close(fd);
	return 0;
}

static int blast(unsigned int port, uint64_t bytes)
{
	static uint8_t buf[1 << 16];
	int fd = connect_to_host(port);

	if (fd < 0) {
		errno = -fd;
		die("connect");
	}
	for (uint64_t sent = 0; sent < bytes;) {
		size_t n = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);

		write_all(fd, buf, n);
		sent += n;
	}
	close(fd);
	return 0;
}

static int pingpong(unsigned int port)
{
	char buf[256];
	int l = listen_on(port, 1), fd = accept(l, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		die("accept");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write_all(fd, buf, (size_t)n);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink((unsigned int)atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "source") == 0)
		return source((unsigned int)atoi(argv[2]), strtoull(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "echo") == 0)
		return echo((unsigned int)atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "refused") == 0)
		return refused((unsigned int)atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return flood((unsigned int)atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "discard") == 0)
		return discard((unsigned int)atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "blast") == 0)
		return blast((unsigned int)atoi(argv[2]), strtoull(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "pingpong") == 0)
		return pingpong((unsigned int)atoi(argv[2]));
	fprintf(stderr, "usage: vsock_peer sink|source|echo|refused|flood|discard|blast|pingpong "
			"PORT ...\n");
	return 2;
}
