/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_PATH */
#include "hostfs_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lispvm/abi.h>

/* The guest resolves symlinks itself, in its own namespace; the host never
 * follows one, and nothing may leave the mount (RESOLVE_BENEATH refuses
 * "..", absolute paths and mount-escaping jumps even if a check above
 * missed one). */
#define HOSTFS_RESOLVE	     (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)
#define HOSTFS_OPENAT2_TRIES 8

int hostfs_path_check_text(const char *path, size_t len)
{
	if (len == 0 || len > LISPVM_HOSTFS_PATH_MAX || memchr(path, '\0', len) != path + len - 1)
		return -EINVAL;
	return 0;
}

static bool is_dot_name(const char *name, size_t n)
{
	return (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.');
}

int hostfs_path_check(const char *path, size_t len)
{
	const char *p = path;

	if (hostfs_path_check_text(path, len) < 0)
		return -EINVAL;
	if (len == 1)
		return 0; /* "": the mount's root */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		/* Catches a leading '/', "//" and a trailing '/' as "". */
		if (n == 0 || is_dot_name(p, n))
			return -EINVAL;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

static int openat2_beneath(int root_fd, const char *path, uint64_t flags, mode_t mode)
{
	struct open_how how = {
		.flags = flags,
		.mode = (flags & O_CREAT) ? mode : 0, /* openat2 wants 0 otherwise */
		.resolve = HOSTFS_RESOLVE,
	};
	long fd;
	int tries = 0;

	/* EAGAIN: a rename on the host raced the lookup, which openat2 then
	 * refuses rather than risk an escape; retry, but not forever. */
	do
		fd = syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < HOSTFS_OPENAT2_TRIES);
	return fd < 0 ? -errno : (int)fd;
}

int hostfs_path_open(int root_fd, const char *path, int flags, mode_t mode)
{
	return openat2_beneath(root_fd, path, (unsigned int)flags, mode);
}

int hostfs_path_parent(int root_fd, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char parent[LISPVM_HOSTFS_PATH_MAX];
	size_t n;

	if (slash == NULL) {
		*name = path[0] ? path : ".";
		return openat2_beneath(root_fd, "", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	}
	n = (size_t)(slash - path);
	if (n >= sizeof(parent))
		return -ENAMETOOLONG;
	memcpy(parent, path, n);
	parent[n] = '\0';
	*name = slash + 1;
	return openat2_beneath(root_fd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}
