/* SPDX-License-Identifier: MIT */
#include "hostfs_quota.h"

#include <unistd.h>

uint64_t hostfs_quota_room(const struct hostfs_mount *m)
{
	int64_t room;

	/* max_size <= INT64_MAX (mount_spec.c); only a VM that freed nearly
	 * 2^63 bytes could overflow this. */
	if (__builtin_sub_overflow((int64_t)m->max_size, m->used, &room))
		return INT64_MAX;
	return room > 0 ? (uint64_t)room : 0;
}

void hostfs_quota_add(struct hostfs_mount *m, int64_t bytes)
{
	/* Saturating: a host that reports absurd block counts must not wrap
	 * the counter round to plenty of room. */
	if (__builtin_add_overflow(m->used, bytes, &m->used))
		m->used = bytes > 0 ? INT64_MAX : 0;
	/* Never below 0: a refund is measured when a file goes, and blocks
	 * the host allocated after its last counted change (extent blocks
	 * written back later) were never charged; freeing again and again
	 * must not bank room beyond the cap. */
	if (m->used < 0)
		m->used = 0;
}

int64_t hostfs_quota_bytes(const struct stat *st)
{
	return st->st_blocks > 0 ? (int64_t)st->st_blocks * 512 : 0;
}

static uint64_t block_down(uint64_t x)
{
	return x / HOSTFS_QUOTA_BLOCK * HOSTFS_QUOTA_BLOCK;
}

static uint64_t block_up(uint64_t x)
{
	return block_down(x + HOSTFS_QUOTA_BLOCK - 1);
}

uint64_t hostfs_quota_write_fits(const struct hostfs_mount *m, const struct stat *st, uint64_t off,
				 uint64_t len)
{
	uint64_t room = hostfs_quota_room(m), from = block_down(off), end = block_up(off + len);
	uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	uint64_t dense_to = 0, limit;

	/* A file with a block for every block of its size has no holes
	 * (inline and compressed data only look like holes, which costs
	 * room, never lets more through): overwriting it allocates nothing
	 * new, on filesystems that overwrite in place. */
	if ((uint64_t)hostfs_quota_bytes(st) >= block_up(size))
		dense_to = block_up(size);
	if (from < dense_to)
		from = dense_to < end ? dense_to : end;
	if (end - from <= room)
		return len;
	limit = from + block_down(room);
	return limit > off ? limit - off : 0;
}

bool hostfs_quota_held_open(const struct hostfs *fs, const struct stat *st, int except)
{
	for (int i = 0; i < LISPVM_HOSTFS_MAX_HANDLES; i++) {
		struct stat other;

		if (i == except || !fs->handles[i].used)
			continue;
		if (fstat(fs->handles[i].fd, &other) == 0 && other.st_dev == st->st_dev &&
		    other.st_ino == st->st_ino)
			return true;
	}
	return false;
}

int64_t hostfs_quota_freed(const struct hostfs *fs, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return hostfs_quota_bytes(st);
	if (st->st_nlink != 1 || hostfs_quota_held_open(fs, st, -1))
		return 0;
	return hostfs_quota_bytes(st);
}
