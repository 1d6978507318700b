/* SPDX-License-Identifier: MIT */
#include "virtqueue.h"

/* flags + idx + ring + the event word (present even when unused). */
uint64_t virtq_desc_bytes(uint16_t size)
{
	return (uint64_t)size * sizeof(struct vring_desc);
}

uint64_t virtq_avail_bytes(uint16_t size)
{
	return 3 * sizeof(uint16_t) + (uint64_t)size * sizeof(uint16_t);
}

uint64_t virtq_used_bytes(uint16_t size)
{
	return 3 * sizeof(uint16_t) + (uint64_t)size * sizeof(struct vring_used_elem);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct virtq_layout virtq_layout(uint16_t size)
{
	struct virtq_layout l;

	l.avail_off = virtq_desc_bytes(size);
	l.used_off = align_up(l.avail_off + virtq_avail_bytes(size), VRING_USED_ALIGN_SIZE);
	l.total = l.used_off + virtq_used_bytes(size);
	return l;
}
