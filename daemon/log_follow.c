/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "log_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"
#include "vm_files.h"
#include "vm_table.h"

#define FOLLOW_POLL_MS 100

struct follower {
	char dir[PATH_MAX];
	int fd;
	bool on_old; /* still in log.1 */
	ino_t ino;   /* of the file open */
	bool follow;
	int conn_fd;
};

static int open_in(const struct follower *f, const char *name, ino_t *ino)
{
	struct stat st;
	int fd = vm_files_open(f->dir, name);

	if (fd >= 0 && ino != NULL)
		*ino = fstat(fd, &st) == 0 ? st.st_ino : 0;
	return fd;
}

void *log_follow_open(const char *dir, bool follow, int conn_fd)
{
	struct follower *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	f->follow = follow;
	f->conn_fd = conn_fd;
	f->fd = open_in(f, VM_FILE_LOG_OLD, &f->ino);
	f->on_old = true;
	return f;
}

/* Whether log is another file than the one open: the monitor rotated it
 * (and, having renamed it, writes only to the new one). */
static bool rotated(const struct follower *f)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, VM_FILE_LOG);
	return stat(path, &st) == 0 && (f->fd < 0 || st.st_ino != f->ino);
}

static ssize_t read_some(struct follower *f, char *buf, size_t max)
{
	ssize_t n;

	if (f->fd < 0)
		return 0;
	do
		n = read(f->fd, buf, max);
	while (n < 0 && errno == EINTR);
	return n;
}

/* After the file open: log.1 when it is a generation not read yet (the
 * monitor rotated twice since the file open was log), else log. */
static void switch_to_next(struct follower *f)
{
	ino_t old = f->ino, ino;
	int fd;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (!f->on_old && (fd = open_in(f, VM_FILE_LOG_OLD, &ino)) >= 0) {
		if (ino != old) {
			f->fd = fd;
			f->ino = ino;
			f->on_old = true;
			return;
		}
		close(fd);
	}
	f->on_old = false;
	f->fd = open_in(f, VM_FILE_LOG, &f->ino);
}

ssize_t log_follow_read(void *follower, char *buf, size_t max)
{
	struct follower *f = follower;

	for (;;) {
		ssize_t n = read_some(f, buf, max);

		if (n != 0)
			return n;
		if (f->on_old || rotated(f)) {
			switch_to_next(f);
			continue;
		}
		if (!f->follow)
			return 0;
		/* The monitor writes exit.json after the last line: once the
		 * VM has ended, what is left to read is all there is. */
		if (vm_table_ended(f->dir)) {
			n = read_some(f, buf, max);
			if (n != 0 || !rotated(f))
				return n;
			switch_to_next(f);
			continue;
		}
		if (http_peer_gone(f->conn_fd) || vm_table_closing())
			return -1;
		nanosleep(&(struct timespec){.tv_nsec = FOLLOW_POLL_MS * 1000000L}, NULL);
	}
}

void log_follow_close(void *follower)
{
	struct follower *f = follower;

	if (f->fd >= 0)
		close(f->fd);
	free(f);
}
