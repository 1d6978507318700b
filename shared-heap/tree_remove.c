/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "tree_remove.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int remove_at(int parent_fd, const char *name);

static int remove_children(int parent_fd, const char *name)
{
	DIR *dir;
	struct dirent *de;
	int fd, rc = 0;

	/* The build gave directories their final modes, read-only ones too;
	 * their entries can only be removed once they are writable again. */
	if (fchmodat(parent_fd, name, 0700, 0) < 0)
		return errno;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno;
	dir = fdopendir(fd);
	if (dir == NULL) {
		rc = errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(dir)) != NULL) {
		int child_rc;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child_rc = remove_at(dirfd(dir), de->d_name);
		if (rc == 0)
			rc = child_rc;
	}
	closedir(dir);
	return rc;
}

static int remove_at(int parent_fd, const char *name)
{
	struct stat st;
	int rc;

	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent_fd, name, 0) < 0 ? errno : 0;
	rc = remove_children(parent_fd, name);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && rc == 0)
		rc = errno;
	return rc;
}

int tree_remove(const char *path)
{
	return remove_at(AT_FDCWD, path);
}
