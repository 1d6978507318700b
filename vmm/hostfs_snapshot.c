/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_PATH */
#include "hostfs_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"
#include "hostfs_path.h"

static int save_one(const struct hostfs *fs, unsigned int handle, struct hostfs_saved_file *out,
		    char *err, size_t err_size)
{
	const struct hostfs_handle *h = &fs->handles[handle];
	char root[PATH_MAX], file[PATH_MAX];
	struct stat st;
	size_t n;

	if (h->mount >= fs->nr_mounts ||
	    file_fd_path(fs->mounts[h->mount].root_fd, root, sizeof(root)) < 0 ||
	    file_fd_path(h->fd, file, sizeof(file)) < 0 || fstat(h->fd, &st) < 0) {
		snprintf(err, err_size, "cannot tell which host file the guest's handle %u is",
			 handle);
		return -1;
	}
	if (st.st_nlink == 0) {
		snprintf(err, err_size, "the guest holds open host file %.200s, which was deleted",
			 file);
		return -1;
	}
	n = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(file, root, n) != 0 || (file[n] != '/' && file[n] != '\0') ||
	    strlen(file + n) >= sizeof(out->path)) {
		snprintf(err, err_size, "the guest holds open host file %.200s, now outside %.200s",
			 file, root);
		return -1;
	}
	*out = (struct hostfs_saved_file){
		.handle = handle, .mount = h->mount, .flags = h->reopen_flags};
	strcpy(out->path, file[n] == '/' ? file + n + 1 : file + n);
	return 0;
}

int hostfs_save_files(const struct hostfs *fs, struct hostfs_saved_file *out, unsigned int *n,
		      char *err, size_t err_size)
{
	*n = 0;
	for (unsigned int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++)
		if (fs->handles[i].used && save_one(fs, i, &out[(*n)++], err, err_size) < 0)
			return -1;
	return 0;
}

#define REOPEN_FLAGS (O_ACCMODE | O_APPEND | O_DIRECTORY)

static int restore_one(struct hostfs *fs, const struct hostfs_saved_file *s, char *err,
		       size_t err_size)
{
	size_t len = strnlen(s->path, sizeof(s->path));
	int access = s->flags & O_ACCMODE, fd;
	struct stat st;

	if (s->handle >= LISPVM_HOSTFS_MAX_HANDLES || fs->handles[s->handle].used ||
	    s->mount >= fs->nr_mounts || len == sizeof(s->path) ||
	    hostfs_path_check(s->path, len + 1) < 0 || (s->flags & ~REOPEN_FLAGS) != 0 ||
	    access == O_ACCMODE || (fs->mounts[s->mount].readonly && access != O_RDONLY)) {
		snprintf(err, err_size, "corrupt list of open host files");
		return -1;
	}
	/* Looked at first: opening a FIFO or a device runs host code. */
	fd = hostfs_path_open(fs->mounts[s->mount].root_fd, s->path, O_PATH | O_CLOEXEC, 0);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))) {
		close(fd);
		snprintf(err, err_size, "host file %.200s is no longer a file or directory",
			 s->path);
		return -1;
	}
	if (fd >= 0) {
		close(fd);
		fd = hostfs_path_open(fs->mounts[s->mount].root_fd, s->path,
				      s->flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	}
	if (fd < 0) {
		snprintf(err, err_size, "the guest had host file %.200s open (mount %u): %s",
			 s->path, s->mount, strerror(-fd));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(fd);
		snprintf(err, err_size, "host file %.200s is no longer a file or directory",
			 s->path);
		return -1;
	}
	fs->handles[s->handle] = (struct hostfs_handle){
		.fd = fd, .used = true, .mount = s->mount, .reopen_flags = s->flags};
	return 0;
}

int hostfs_restore_files(struct hostfs *fs, const struct hostfs_saved_file *files, unsigned int n,
			 char *err, size_t err_size)
{
	for (unsigned int i = 0; i < n; i++)
		if (restore_one(fs, &files[i], err, err_size) < 0)
			return -1;
	return 0;
}

unsigned int hostfs_save_caps(const struct hostfs *fs, struct hostfs_saved_cap *out)
{
	bool any = false;

	for (unsigned int i = 0; i < fs->nr_mounts; i++) {
		out[i] = (struct hostfs_saved_cap){fs->mounts[i].max_size, fs->mounts[i].used};
		any |= fs->mounts[i].max_size != 0;
	}
	return any ? fs->nr_mounts : 0;
}

void hostfs_restore_caps(struct hostfs *fs, const struct hostfs_saved_cap *caps, unsigned int n)
{
	for (unsigned int i = 0; i < n && i < fs->nr_mounts; i++)
		if (fs->mounts[i].max_size != 0)
			fs->mounts[i].used = caps[i].used > 0 ? caps[i].used : 0;
}
