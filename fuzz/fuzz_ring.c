/* SPDX-License-Identifier: MIT */
#include "fuzz_ring.h"

#include <stddef.h>
#include <string.h>

#include "virtqueue.h"

struct fuzz_ring fuzz_ring_at(uint64_t gpa, uint16_t size)
{
	struct virtq_layout l = virtq_layout(size);

	return (struct fuzz_ring){gpa, gpa + l.avail_off, gpa + l.used_off, size};
}

void fuzz_ring_desc(struct fuzz_guest *g, const struct fuzz_ring *r, uint16_t i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	fuzz_guest_put(g, r->desc + (uint64_t)i * sizeof(d), &d, sizeof(d));
}

static uint16_t get16(struct fuzz_guest *g, uint64_t gpa)
{
	const uint8_t *p = fuzz_guest_at(g, gpa, 2);
	uint16_t v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

void fuzz_ring_offer(struct fuzz_guest *g, const struct fuzz_ring *r, uint16_t head)
{
	uint16_t idx = get16(g, r->avail + offsetof(struct vring_avail, idx));

	if (r->size != 0)
		fuzz_guest_put(g,
			       r->avail + offsetof(struct vring_avail, ring) + 2u * (idx % r->size),
			       &head, sizeof(head));
	idx++;
	fuzz_guest_put(g, r->avail + offsetof(struct vring_avail, idx), &idx, sizeof(idx));
}

uint16_t fuzz_ring_used_idx(struct fuzz_guest *g, const struct fuzz_ring *r)
{
	return get16(g, r->used + offsetof(struct vring_used, idx));
}

struct vring_used_elem fuzz_ring_used(struct fuzz_guest *g, const struct fuzz_ring *r, uint16_t pos)
{
	struct vring_used_elem e = {0};
	const uint8_t *p;

	if (r->size == 0)
		return e;
	p = fuzz_guest_at(g,
			  r->used + offsetof(struct vring_used, ring) + sizeof(e) * (pos % r->size),
			  sizeof(e));
	if (p != NULL)
		memcpy(&e, p, sizeof(e));
	return e;
}
