/* SPDX-License-Identifier: MIT */
#include "linux/fd.h"

#include <errno.h>

#include "fs/file.h"
#include "linux/process.h"

static struct fd_table *table(void)
{
	return &current_process()->fds;
}

static bool in_range(int fd)
{
	return fd >= 0 && fd < FD_TABLE_SIZE;
}

static void set_cloexec_bit(struct fd_table *t, int fd, bool on)
{
	uint64_t bit = 1ull << (fd % 64);

	t->cloexec[fd / 64] = on ? t->cloexec[fd / 64] | bit : t->cloexec[fd / 64] & ~bit;
}

/* RLIMIT_NOFILE bounds the descriptors handed out, as on Linux. */
static int fd_limit(void)
{
	uint64_t cur = current_process()->rlimits[RLIMIT_NOFILE].rlim_cur;

	return cur < FD_TABLE_SIZE ? (int)cur : FD_TABLE_SIZE;
}

struct file *fd_get(int fd)
{
	struct fd_table *t = table();
	struct file *f = NULL;

	if (!in_range(fd))
		return NULL;
	spin_lock(&t->lock);
	f = t->files[fd];
	if (f)
		file_get(f);
	spin_unlock(&t->lock);
	return f;
}

int fd_install(struct file *f, int min, bool cloexec)
{
	struct fd_table *t = table();
	int limit = fd_limit();

	spin_lock(&t->lock);
	for (int fd = min < 0 ? 0 : min; fd < limit; fd++) {
		if (t->files[fd] == NULL) {
			t->files[fd] = f;
			set_cloexec_bit(t, fd, cloexec);
			spin_unlock(&t->lock);
			return fd;
		}
	}
	spin_unlock(&t->lock);
	return -EMFILE;
}

int fd_install_at(struct file *f, int fd, bool cloexec)
{
	struct fd_table *t = table();
	struct file *old;

	if (!in_range(fd) || fd >= fd_limit())
		return -EBADF;
	spin_lock(&t->lock);
	old = t->files[fd];
	t->files[fd] = f;
	set_cloexec_bit(t, fd, cloexec);
	spin_unlock(&t->lock);
	file_put(old);
	return fd;
}

int fd_close(int fd)
{
	struct fd_table *t = table();
	struct file *f;

	if (!in_range(fd))
		return -EBADF;
	spin_lock(&t->lock);
	f = t->files[fd];
	t->files[fd] = NULL;
	spin_unlock(&t->lock);
	if (f == NULL)
		return -EBADF;
	file_put(f);
	return 0;
}

bool fd_cloexec(int fd)
{
	return in_range(fd) && (table()->cloexec[fd / 64] >> (fd % 64)) & 1;
}

int fd_set_cloexec(int fd, bool on)
{
	struct fd_table *t = table();

	if (!in_range(fd) || t->files[fd] == NULL)
		return -EBADF;
	set_cloexec_bit(t, fd, on);
	return 0;
}
