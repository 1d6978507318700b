/* SPDX-License-Identifier: MIT */
#include "vm_socket.h"

#include "vm_control.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int socket_dir(char *out, size_t size, char *err, size_t err_size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n = runtime != NULL && runtime[0] == '/'
			? snprintf(out, size, "%s/lispvm", runtime)
			: snprintf(out, size, "/tmp/lispvm-%u", (unsigned int)getuid());

	if (n < 0 || (size_t)n >= size) {
		snprintf(err, err_size, "runtime directory path too long");
		return -1;
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		snprintf(err, err_size, "%s is not a directory of this user's", out);
		return -1;
	}
	return 0;
}

/* Whether a VM still listens at path. */
static bool listened_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	live = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return live;
}

int vm_socket_path(const char *name, char *out, size_t size, char *err, size_t err_size)
{
	char dir[108], control[4200];
	struct stat st;

	if (socket_dir(dir, sizeof(dir), err, err_size) < 0)
		return -1;
	if ((size_t)snprintf(out, size, "%s/%s%s", dir, name, VM_SOCKET_SUFFIX) >= size) {
		snprintf(err, err_size, "VM name %s too long", name);
		return -1;
	}
	/* A socket nobody listens on is a VM that is gone; anything else
	 * there is not ours to remove (the VMM's bind then says so). */
	if (lstat(out, &st) == 0 && S_ISSOCK(st.st_mode) && !listened_on(out))
		unlink(out);
	/* So is its control socket (vm_control.h), left by a VMM killed. */
	if ((size_t)snprintf(control, sizeof(control), "%s%s", out, VM_CONTROL_SUFFIX) <
		    sizeof(control) &&
	    lstat(control, &st) == 0 && S_ISSOCK(st.st_mode) && !listened_on(control))
		unlink(control);
	return 0;
}

/* The only live VM socket in dir. */
static int only_socket(const char *dir, char *out, size_t size, char *err, size_t err_size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (d == NULL) {
		snprintf(err, err_size, "no VM to attach to (%s: %s)", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), s = strlen(VM_SOCKET_SUFFIX);
		char path[4096];

		if (n <= s || strcmp(e->d_name + n - s, VM_SOCKET_SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!listened_on(path))
			continue;
		if (found++ == 0)
			snprintf(out, size, "%s", path);
	}
	closedir(d);
	if (found == 1)
		return 0;
	if (found == 0)
		snprintf(err, err_size, "no VM to attach to (none runs with --attachable)");
	else
		snprintf(err, err_size, "%d VMs run with --attachable: name one (see %s)", found,
			 dir);
	return -1;
}

int vm_socket_resolve(const char *target, char *out, size_t size, char *err, size_t err_size)
{
	char dir[108];

	if (target != NULL && strchr(target, '/') != NULL) {
		snprintf(out, size, "%s", target);
		return 0;
	}
	if (socket_dir(dir, sizeof(dir), err, err_size) < 0)
		return -1;
	if (target == NULL)
		return only_socket(dir, out, size, err, err_size);
	snprintf(out, size, "%s/%s%s", dir, target, VM_SOCKET_SUFFIX);
	if (access(out, F_OK) < 0) {
		snprintf(err, err_size, "no VM called %s (no %s)", target, out);
		return -1;
	}
	return 0;
}
