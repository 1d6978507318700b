/* SPDX-License-Identifier: MIT */
#include "fs/dirent_out.h"

#include <errno.h>
#include <string.h>

#include "kernel/kheap.h"
#include "linux/dirent.h"
#include "linux/uaccess.h"

/* Bounds the staging buffer; getdents simply returns fewer records. */
#define DIRENT_STAGING_MAX 32768

int dirent_out_init(struct dirent_out *o, uint64_t len)
{
	o->cap = len < DIRENT_STAGING_MAX ? len : DIRENT_STAGING_MAX;
	o->used = 0;
	o->full = false;
	o->buf = kmalloc(o->cap ? o->cap : 1);
	return o->buf ? 0 : -ENOMEM;
}

bool dirent_out_put(struct dirent_out *o, uint64_t ino, int64_t next, unsigned int type,
		    const char *name, size_t len)
{
	uint64_t reclen = (offsetof(struct linux_dirent64, d_name) + len + 1 + 7) & ~7ull;
	struct linux_dirent64 *d;

	if (o->used + reclen > o->cap) {
		o->full = true;
		return false;
	}
	d = (struct linux_dirent64 *)(o->buf + o->used);
	memset(d, 0, reclen);
	d->d_ino = ino;
	d->d_off = next;
	d->d_reclen = (uint16_t)reclen;
	d->d_type = (uint8_t)type;
	memcpy(d->d_name, name, len);
	o->used += reclen;
	return true;
}

int64_t dirent_out_finish(struct dirent_out *o, void *user_buf)
{
	int64_t rc;

	if (o->used == 0 && o->full)
		rc = -EINVAL;
	else
		rc = uaccess_copy(user_buf, o->buf, o->used) ? -EFAULT : (int64_t)o->used;
	kfree(o->buf);
	o->buf = NULL;
	return rc;
}
