/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* unshare, CLONE_NEWUSER */
#include "user_namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc, saved;

	if (fd < 0)
		return -1;
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

const char user_namespace_not_made[] = "make a user namespace";

int user_namespace_enter(const char **what)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	*what = user_namespace_not_made;
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	*what = "map the user";
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)uid, (unsigned int)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	/* An unprivileged gid_map needs setgroups denied first. */
	*what = "map the group";
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)gid, (unsigned int)gid);
	if (write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/gid_map", map) < 0)
		return -1;
	return 0;
}
