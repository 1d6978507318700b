/* SPDX-License-Identifier: MIT */
/* A jailed warm VM's mount roots (tools/lispvm/mount_roots.c): each is its
 * directory and what is mounted beneath, no more ("..", and symlinks to
 * it, stay in it; an absolute name starts at the process's root, which
 * for the VMM is its jail's), read-only ones refuse writes in the kernel
 * and no one holding one can make it writable again, none runs or
 * honours setuid files, a missing directory or a file is one line and
 * leaves nothing open, and hostfs serves a root it was given as one it
 * opened. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "hostfs.h"
#include "mount_roots.h"
#include "user_namespace.h"

static char top[] = "/tmp/lispvm-mount-roots-XXXXXX";

static void path_of(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", top, name);
}

static void make_file(const char *name)
{
	char path[PATH_MAX];
	int fd;

	path_of(path, name);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n;
}

static ino_t inode_at(int dir, const char *name)
{
	struct stat st;

	return fstatat(dir, name, &st, AT_EMPTY_PATH) == 0 ? st.st_ino : 0;
}

/* Nothing outside the directory can be named from its root. */
static void check_contained(int root, const char *dir)
{
	char path[PATH_MAX];
	struct stat host;
	int fd;

	path_of(path, dir);
	CHECK(stat(path, &host) == 0);
	CHECK(inode_at(root, "") == host.st_ino);
	CHECK(inode_at(root, "..") == host.st_ino);
	CHECK(inode_at(root, "../../..") == host.st_ino);
	errno = 0;
	fd = openat(root, "../outside", O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == ENOENT);
	fd = openat(root, "escape/outside", O_RDONLY | O_CLOEXEC); /* escape -> .. */
	CHECK(fd < 0 && errno == ENOENT);
	fd = openat(root, "inside", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		struct statvfs sv;

		CHECK(fstatvfs(fd, &sv) == 0);
		CHECK((sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC)) ==
		      (ST_NOSUID | ST_NODEV | ST_NOEXEC));
		close(fd);
	}
}

static void test_roots(void)
{
	struct guest_mount mounts[] = {{.host_path = NULL, .guest_path = "/rw"},
				       {.host_path = NULL, .guest_path = "/ro", .readonly = true}};
	char rw[PATH_MAX], ro[PATH_MAX], err[512] = "";
	int fds[2] = {-1, -1}, fd;

	path_of(rw, "rw");
	path_of(ro, "ro");
	mounts[0].host_path = rw;
	mounts[1].host_path = ro;
	CHECK(mount_roots_open(mounts, 2, fds, err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "mount_roots_open: %s\n", err);
	check_contained(fds[0], "rw");
	check_contained(fds[1], "ro");
	fd = openat(fds[0], "made", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	path_of(rw, "rw/made");
	CHECK(access(rw, F_OK) == 0); /* a write through the copy is the host's */
	errno = 0;
	CHECK(openat(fds[1], "made", O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 && errno == EROFS);
	CHECK(mkdirat(fds[1], "dir", 0755) < 0 && errno == EROFS);
	CHECK(unlinkat(fds[1], "inside", 0) < 0 && errno == EROFS);
	close(fds[0]);
	close(fds[1]);
}

/* As a VMM that runs code of the guest's choosing might try: from a user
 * and mount namespace of its own, clear the read-only flag, and write. */
static bool unlocks(int ro_root)
{
	struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};
	const char *what;
	pid_t child = fork();
	int status, fd;

	if (child == 0) {
		if (user_namespace_enter(&what) < 0 || unshare(CLONE_NEWNS) < 0)
			_exit(2);
		if (mount_setattr(ro_root, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
			_exit(1);
		fd = openat(ro_root, "unlocked", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		_exit(fd >= 0 ? 1 : errno == EROFS ? 0 : 3);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status));
	if (WEXITSTATUS(status) > 1)
		fprintf(stderr, "the unlocking child could not try (exit %d)\n",
			WEXITSTATUS(status));
	return WEXITSTATUS(status) != 0;
}

static void test_locked(void)
{
	char ro[PATH_MAX], err[512] = "";
	struct guest_mount m = {.host_path = ro, .guest_path = "/ro", .readonly = true};
	int fd;

	path_of(ro, "ro");
	CHECK(mount_roots_open(&m, 1, &fd, err, sizeof(err)) == 0);
	CHECK(!unlocks(fd));
	path_of(ro, "ro/unlocked");
	CHECK(access(ro, F_OK) < 0);
	close(fd);
}

/* What is mounted beneath the directory comes with it, restricted too. */
static void test_submount(void)
{
	char rw[PATH_MAX], sub[PATH_MAX], err[512] = "";
	struct guest_mount m = {.host_path = rw, .guest_path = "/rw"};
	const char *what;
	pid_t child;
	int status, fd;

	path_of(rw, "rw");
	path_of(sub, "rw/sub");
	CHECK(mkdir(sub, 0755) == 0);
	child = fork();
	if (child == 0) {
		/* The mount beneath, in a namespace of this child's own. */
		if (user_namespace_enter(&what) < 0 || unshare(CLONE_NEWNS) < 0 ||
		    mount("tmpfs", sub, "tmpfs", 0, "size=64k") < 0 ||
		    (fd = open(strcat(sub, "/on-tmpfs"), O_CREAT | O_WRONLY, 0644)) < 0)
			_exit(2);
		close(fd);
		if (mount_roots_open(&m, 1, &fd, err, sizeof(err)) < 0)
			_exit(3);
		_exit(inode_at(fd, "sub/on-tmpfs") != 0 &&
				      inode_at(fd, "sub/..") == inode_at(fd, "")
			      ? 0
			      : 1);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(rmdir(sub) == 0); /* the tmpfs was the child's alone */
}

static void test_missing(void)
{
	char missing[PATH_MAX], rw[PATH_MAX], err[512] = "";
	struct guest_mount mounts[2] = {{.host_path = rw, .guest_path = "/rw"},
					{.host_path = missing, .guest_path = "/m"}};
	int fds[2];
	unsigned int before = open_fds();

	path_of(rw, "rw");
	path_of(missing, "missing");
	CHECK(mount_roots_open(mounts, 2, fds, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "cannot use host directory");
	CHECK_CONTAINS(err, missing);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(open_fds() == before);
	path_of(missing, "outside"); /* a file */
	CHECK(mount_roots_open(mounts, 2, fds, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "not a directory");
	CHECK(open_fds() == before);
	CHECK(mount_roots_open(mounts, 0, fds, err, sizeof(err)) == 0);
}

/* hostfs duplicates a root it is given: the caller closes its own. */
static void test_hostfs_given_root(void)
{
	char rw[PATH_MAX], err[512] = "";
	struct guest_mount m = {.host_path = rw, .guest_path = "/rw"};
	static struct hostfs fs;
	int fd;

	path_of(rw, "rw");
	CHECK(mount_roots_open(&m, 1, &fd, err, sizeof(err)) == 0);
	m.root_given = true;
	m.root_fd = fd;
	CHECK(hostfs_open(&fs, &m, 1, err, sizeof(err)) == 0);
	close(fd);
	CHECK(fs.nr_mounts == 1 && fs.mounts[0].root_fd != fd);
	CHECK(inode_at(fs.mounts[0].root_fd, "inside") != 0);
	CHECK(inode_at(fs.mounts[0].root_fd, "..") == inode_at(fs.mounts[0].root_fd, ""));
	hostfs_close(&fs);
}

int main(void)
{
	char path[PATH_MAX];

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	path_of(path, "rw");
	CHECK(mkdir(path, 0755) == 0);
	path_of(path, "ro");
	CHECK(mkdir(path, 0755) == 0);
	make_file("outside");
	make_file("rw/inside");
	make_file("ro/inside");
	path_of(path, "rw/escape");
	CHECK(symlink("..", path) == 0);
	path_of(path, "ro/escape");
	CHECK(symlink("..", path) == 0);
	test_roots();
	test_locked();
	test_submount();
	test_missing();
	test_hostfs_given_root();
	snprintf(path, sizeof(path), "rm -rf '%s'", top);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return check_result("mount_roots");
}
