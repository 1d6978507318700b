/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC */
#include "fd_pass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

union fd_control {
	char buf[CMSG_SPACE(sizeof(int) * FD_PASS_MAX)];
	struct cmsghdr align;
};

int fd_pass_send(int sock, const struct iovec *iov, size_t iovcnt, const int *fds, unsigned int n)
{
	union fd_control control = {0};
	struct iovec rest[8];
	struct msghdr msg = {.msg_iov = rest, .msg_iovlen = iovcnt};

	if (iovcnt > sizeof(rest) / sizeof(rest[0]) || n > FD_PASS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memcpy(rest, iov, iovcnt * sizeof(*iov));
	if (n > 0) {
		struct cmsghdr *c;

		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	while (msg.msg_iovlen > 0) {
		ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0)
			return -1;
		/* The descriptors went with the first bytes. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (msg.msg_iovlen > 0 && (size_t)sent >= msg.msg_iov->iov_len) {
			sent -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + sent;
			msg.msg_iov->iov_len -= (size_t)sent;
		}
	}
	return 0;
}

/* The descriptors of one SCM_RIGHTS message: kept while there is room. */
static void take_fds(const struct cmsghdr *c, int *fds, unsigned int max, unsigned int *n,
		     bool *dropped)
{
	size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

	for (size_t i = 0; i < count; i++) {
		int fd;

		memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		if (*n < max)
			fds[(*n)++] = fd;
		else {
			close(fd);
			*dropped = true;
		}
	}
}

ssize_t fd_pass_recv(int sock, void *buf, size_t len, int flags, int *fds, unsigned int max,
		     unsigned int *n, bool *dropped)
{
	union fd_control control;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t got;

	*n = 0;
	if (max > FD_PASS_MAX)
		max = FD_PASS_MAX;
	while ((got = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return got;
	if (msg.msg_flags & MSG_CTRUNC)
		*dropped = true;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			take_fds(c, fds, max, n, dropped);
	return got;
}
