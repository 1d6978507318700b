/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* unshare, open_tree, move_mount, mount_setattr */
#include "mount_roots.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_pass.h"
#include "user_namespace.h"

#define REASON_MAX 512
/* Copying takes a few system calls; a directory on a file system that
 * stopped answering (a hung NFS or FUSE mount) would take for ever. */
#define COPY_TIMEOUT_MS 30000
/* Where the restricted copies wait, in the child's own mount namespace:
 * a tmpfs over a directory every system has, so that reaching them again
 * needs no search permission on the user's own directories. */
#define STAGING "/tmp"

/* One message: the copies, or a reason (and no descriptor). */
static void answer(int sock, const int *fds, unsigned int n, const char *why)
{
	struct iovec iov = {.iov_base = (void *)why, .iov_len = strlen(why) + 1};

	fd_pass_send(sock, &iov, 1, fds, why[0] == '\0' ? n : 0);
}

static int fail(char *why, size_t size, const char *what, const char *path)
{
	snprintf(why, size, "--mount%s%s: cannot %s: %s", path ? " " : "", path ? path : "", what,
		 strerror(errno));
	return -1;
}

/* A namespace of its own to clone mounts in: root has the right already;
 * another user gets it in a user namespace of its own. */
static int enter_namespaces(char *why, size_t size)
{
	const char *what;

	if (geteuid() != 0 && user_namespace_enter(&what) < 0)
		return fail(why, size, what, NULL);
	if (unshare(CLONE_NEWNS) < 0)
		return fail(why, size, "make a mount namespace", NULL);
	return 0;
}

/* m's directory, copied with what it has mounted beneath (AT_RECURSIVE,
 * as a recursive bind), and restricted: the copy, or -1. */
static int copy(const struct guest_mount *m, char *why, size_t size)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC |
					      (m->readonly ? MOUNT_ATTR_RDONLY : 0)};
	struct stat st;
	int fd = open_tree(AT_FDCWD, m->host_path,
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0) {
		snprintf(why, size, "--mount: cannot use host directory %s: %s", m->host_path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, size, "--mount: cannot use host directory %s: not a directory",
			 m->host_path);
		close(fd);
		return -1;
	}
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		fail(why, size, "restrict its copy", m->host_path);
		close(fd);
		return -1;
	}
	return fd;
}

/* The copies at STAGING/i, once all are made (the tmpfs there would hide
 * a directory beneath it). */
static int stage(const int *fds, unsigned int n, char *why, size_t size)
{
	char at[32];

	if (mount("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
		return fail(why, size, "make a place for the copies", NULL);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(at, sizeof(at), STAGING "/%u", i);
		if (mkdir(at, 0700) < 0 ||
		    move_mount(fds[i], "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return fail(why, size, "place a copy", NULL);
	}
	return 0;
}

/* Copied into a mount namespace of a user namespace below this one, the
 * copies' flags are locked: no one holding one can clear them again
 * (mount_setattr is EPERM), even from a user namespace of their own. */
static int lock(char *why, size_t size)
{
	const char *what;

	if (user_namespace_enter(&what) < 0) {
		/* Root's on a host that makes no user namespaces (a jail with
		 * --jail-user): there no one holding a copy can make one to
		 * unlock it either. */
		if (geteuid() == 0 && what == user_namespace_not_made)
			return 0;
		return fail(why, size, what, NULL);
	}
	if (unshare(CLONE_NEWNS) < 0)
		return fail(why, size, "make a mount namespace", NULL);
	return 0;
}

static void copy_mounts(int sock, const struct guest_mount *mounts, unsigned int n)
{
	int fds[GUEST_MAX_MOUNTS];
	char why[REASON_MAX] = "", at[32];
	unsigned int made = 0;

	if (enter_namespaces(why, sizeof(why)) == 0)
		while (made < n && (fds[made] = copy(&mounts[made], why, sizeof(why))) >= 0)
			made++;
	if (why[0] == '\0' && stage(fds, n, why, sizeof(why)) == 0)
		lock(why, sizeof(why));
	for (unsigned int i = 0; i < made; i++)
		close(fds[i]);
	for (made = 0; why[0] == '\0' && made < n; made++) {
		snprintf(at, sizeof(at), STAGING "/%u", made);
		fds[made] =
			open_tree(AT_FDCWD, at, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fds[made] < 0) {
			fail(why, sizeof(why), "copy it again", mounts[made].host_path);
			break;
		}
	}
	answer(sock, fds, made, why);
	_exit(0);
}

/* The copies, or the child's reason; exactly n descriptors or none. */
static int receive(int sock, int *fds, unsigned int n, char *err, size_t err_size)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	char why[REASON_MAX];
	unsigned int got = 0;
	bool dropped = false;
	ssize_t len;

	if (poll(&p, 1, COPY_TIMEOUT_MS) == 0) {
		snprintf(err, err_size, "--mount: copying the directories took more than %d s",
			 COPY_TIMEOUT_MS / 1000);
		return -2;
	}
	len = fd_pass_recv(sock, why, sizeof(why) - 1, 0, fds, n, &got, &dropped);

	if (len > 0 && got == n && !dropped && why[0] == '\0')
		return 0;
	for (unsigned int i = 0; i < got; i++)
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
	if (rc == -2) /* stuck: it goes when the file system lets it */
		kill(child, SIGKILL);
	while (waitpid(child, &status, rc == -2 ? WNOHANG : 0) < 0 && errno == EINTR)
		;
	return rc < 0 ? -1 : 0;
}
