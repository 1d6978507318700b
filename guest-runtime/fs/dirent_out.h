/* SPDX-License-Identifier: MIT */
/* Building getdents64 records in a kernel buffer, then copying them out:
 * one place for the record layout every filesystem lists with. */
#ifndef GUEST_FS_DIRENT_OUT_H
#define GUEST_FS_DIRENT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dirent_out {
	uint8_t *buf;
	uint64_t cap, used;
	bool full; /* a record did not fit */
};

/* A staging buffer for a getdents64 of len bytes; -ENOMEM. */
int dirent_out_init(struct dirent_out *o, uint64_t len);

/* Appends one record whose d_off is next; false when it does not fit. */
bool dirent_out_put(struct dirent_out *o, uint64_t ino, int64_t next, unsigned int type,
		    const char *name, size_t len);

/* Copies the records to the user buffer and frees the staging: the byte
 * count (0 at the end), -EINVAL if not even one record fit, or -EFAULT. */
int64_t dirent_out_finish(struct dirent_out *o, void *user_buf);

/* DT_* of a mode: Linux's d_type is the S_IF* type bits. */
static inline unsigned int dirent_type(uint32_t mode)
{
	return (mode >> 12) & 017;
}

#endif
