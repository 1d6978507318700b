/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* unshare, open_tree, mount_setattr */
#include "mount_roots.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "user_namespace.h"

#define REASON_MAX 512

/* One message: the copies, or a reason (and no descriptor). */
static void answer(int sock, const int *fds, unsigned int n, const char *why)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * GUEST_MAX_MOUNTS)];
		struct cmsghdr align;
	} control = {0};
	struct iovec iov = {.iov_base = (void *)why, .iov_len = strlen(why) + 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (why[0] == '\0' && n > 0) {
		struct cmsghdr *c;

		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int copy_mount(const struct guest_mount *m, char *why, size_t size)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC |
					      (m->readonly ? MOUNT_ATTR_RDONLY : 0)};
	/* AT_RECURSIVE: what is mounted beneath comes too, as a bind of it
	 * would (without it, mounts locked beneath make the copy fail). */
	int fd = open_tree(AT_FDCWD, m->host_path,
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0) {
		snprintf(why, size, "--mount: cannot use host directory %s: %s", m->host_path,
			 strerror(errno));
		return -1;
	}
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		snprintf(why, size, "--mount %s: cannot restrict its copy: %s", m->host_path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Where this child may clone mounts: namespaces it owns. */
static int enter_namespaces(char *why, size_t size)
{
	const char *what;

	if (user_namespace_enter(&what) == 0) {
		what = "make a mount namespace";
		if (unshare(CLONE_NEWNS) == 0)
			return 0;
	}
	snprintf(why, size, "--mount: cannot %s to copy the mounts in: %s", what, strerror(errno));
	return -1;
}

static void copy_mounts(int sock, const struct guest_mount *mounts, unsigned int n)
{
	int fds[GUEST_MAX_MOUNTS];
	char why[REASON_MAX] = "";
	unsigned int made = 0;

	enter_namespaces(why, sizeof(why));
	while (why[0] == '\0' && made < n &&
	       (fds[made] = copy_mount(&mounts[made], why, sizeof(why))) >= 0)
		made++;
	answer(sock, fds, made, why);
	_exit(0);
}

/* The copies, or the child's reason; exactly n descriptors or none. */
static int receive(int sock, int *fds, unsigned int n, char *err, size_t err_size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * GUEST_MAX_MOUNTS)];
		struct cmsghdr align;
	} control;
	char why[REASON_MAX];
	struct iovec iov = {.iov_base = why, .iov_len = sizeof(why) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	unsigned int got = 0;
	ssize_t len;

	while ((len = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	for (c = len >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			got = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), sizeof(int) * (got > n ? n : got));
		}
	if (len > 0 && got == n && why[0] == '\0' && !(msg.msg_flags & MSG_CTRUNC))
		return 0;
	for (unsigned int i = 0; i < got && i < n; i++)
		close(fds[i]);
	if (len > 0 && why[0] != '\0') {
		why[len] = '\0';
		snprintf(err, err_size, "%s", why);
	} else
		snprintf(err, err_size, "--mount: the mounts' copies did not come back");
	return -1;
}

int mount_roots_open(const struct guest_mount *mounts, unsigned int n, int *fds, char *err,
		     size_t err_size)
{
	int pair[2], status, rc;
	pid_t child;

	if (n == 0)
		return 0;
	if (n > GUEST_MAX_MOUNTS) {
		snprintf(err, err_size, "at most %d --mount directories", GUEST_MAX_MOUNTS);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		snprintf(err, err_size, "--mount: cannot copy the mounts: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((child = fork()) == 0) {
		close(pair[0]);
		copy_mounts(pair[1], mounts, n);
	}
	close(pair[1]);
	if (child < 0) {
		snprintf(err, err_size, "--mount: cannot copy the mounts: %s", strerror(errno));
		close(pair[0]);
		return -1;
	}
	rc = receive(pair[0], fds, n, err, err_size);
	close(pair[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}
