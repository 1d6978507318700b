/* SPDX-License-Identifier: MIT */
/*
 * A split virtqueue as a hostile driver fills it: descriptors and ring
 * entries written straight into the simulated guest memory, never
 * through virtio/virtqueue_driver.c (which trusts its own rings), so any
 * value a guest could write is within reach.
 */
#ifndef LISPVM_FUZZ_RING_H
#define LISPVM_FUZZ_RING_H

#include <linux/virtio_ring.h>
#include <stdint.h>

#include "fuzz_guest_memory.h"

struct fuzz_ring {
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t size;
};

/* The queue of size entries laid out at gpa as virtq_layout() says. */
struct fuzz_ring fuzz_ring_at(uint64_t gpa, uint16_t size);

void fuzz_ring_desc(struct fuzz_guest *g, const struct fuzz_ring *r, uint16_t i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next);

/* Makes head available: the next available ring entry, then the index. */
void fuzz_ring_offer(struct fuzz_guest *g, const struct fuzz_ring *r, uint16_t head);

/* The used ring's index and its entry at position pos (mod size). */
uint16_t fuzz_ring_used_idx(struct fuzz_guest *g, const struct fuzz_ring *r);
struct vring_used_elem fuzz_ring_used(struct fuzz_guest *g, const struct fuzz_ring *r,
				      uint16_t pos);

#endif
