/* SPDX-License-Identifier: MIT */
#include "fs/file.h"
#include "linux/epoll.h"

#include <errno.h>
#include <string.h>

#include "kernel/kheap.h"

struct file *file_alloc(const struct file_ops *ops, uint32_t flags, const char *path)
{
	struct file *f = kzalloc(sizeof(*f));
	size_t n = strlen(path) + 1;

	if (f == NULL)
		return NULL;
	f->path = kmalloc(n);
	if (f->path == NULL) {
		kfree(f);
		return NULL;
	}
	memcpy(f->path, path, n);
	f->refs = 1;
	f->ops = ops;
	f->flags = flags;
	return f;
}

void file_get(struct file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void file_put(struct file *f)
{
	if (f == NULL || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (f->epoll_watched)
		epoll_file_released(f);
	if (f->ops->release)
		f->ops->release(f);
	kfree(f->path);
	kfree(f);
}

int64_t file_read_kernel(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	if (f->ops->read == NULL)
		return -EINVAL;
	while (done < len) {
		int64_t n = f->ops->read(f, (char *)buf + done, len - done, off + done);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	return (int64_t)done;
}
