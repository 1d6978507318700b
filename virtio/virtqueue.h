/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, section 2.7), both ends: the device side
 * the VMM runs and the driver side the guest runs.  One file of ring
 * logic serves both, so the two can never disagree on the layout.
 *
 * Freestanding (the guest builds it too): only <stdint.h>, <stdbool.h>
 * and the Linux UAPI ring structures.  No indirect descriptors and no
 * event index are offered, so neither appears here.
 */
#ifndef LISPVM_VIRTIO_VIRTQUEUE_H
#define LISPVM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

/* Queue sizes both ends use: a power of two, small because each of our
 * queues carries one request at a time per waiting thread. */
#define VIRTQ_MAX_SIZE 256

/* Byte offsets of the three parts of a queue of `size` entries laid out
 * in one block (descriptor table, then available ring, then used ring,
 * each aligned as the spec requires), and the block's total size. */
struct virtq_layout {
	uint64_t avail_off, used_off, total;
};
struct virtq_layout virtq_layout(uint16_t size);

/* Byte sizes of the parts, as the device checks them. */
uint64_t virtq_desc_bytes(uint16_t size);
uint64_t virtq_avail_bytes(uint16_t size);
uint64_t virtq_used_bytes(uint16_t size);

/* ---- Device side (the VMM) ---- */

/* How the device reaches driver memory: a host pointer to [addr, addr +
 * len) when all of it may be accessed that way, else NULL.  This is the
 * only way the ring code touches memory the guest named. */
typedef void *(*virtq_access_fn)(void *ctx, uint64_t addr, uint64_t len, bool write);

#define VIRTQ_MAX_CHAIN 16 /* descriptors in one request */

struct virtq_buffer {
	uint8_t *host;
	uint64_t addr; /* the driver's address of it */
	uint32_t len;
	bool device_writes; /* VRING_DESC_F_WRITE */
};

/* One request: the descriptors of a chain, readable ones first. */
struct virtq_chain {
	uint16_t head;
	unsigned int count;
	struct virtq_buffer buf[VIRTQ_MAX_CHAIN];
	uint32_t readable_bytes, writable_bytes;
};

struct virtq_device {
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t used_addr;
	uint16_t next_avail; /* the next available entry to take */
	uint16_t next_used;  /* our copy of used->idx */
	virtq_access_fn access;
	void *ctx;
};

/* Takes the queue the driver described (addresses of its three parts);
 * 0, or -1 with a reason when a part is misaligned or not accessible or
 * size is not a power of two up to VIRTQ_MAX_SIZE. */
int virtq_device_init(struct virtq_device *q, uint16_t size, uint64_t desc, uint64_t avail,
		      uint64_t used, virtq_access_fn access, void *ctx, const char **why);

enum virtq_pop_result {
	VIRTQ_EMPTY,	 /* nothing available */
	VIRTQ_CHAIN,	 /* *out holds the next request */
	VIRTQ_MALFORMED, /* the driver broke the ring; *why says how */
};

/* The next request the driver made available, every descriptor checked:
 * head and next indices inside the table, the chain no longer than
 * VIRTQ_MAX_CHAIN and the table (so no loop), no indirect descriptors,
 * no zero lengths, each buffer accessible in its direction, readable
 * buffers before writable ones. */
enum virtq_pop_result virtq_device_pop(struct virtq_device *q, struct virtq_chain *out,
				       const char **why);

/* Returns request `head` to the driver with `written` bytes written.
 * The used ring is accessed for writing again, as each completion
 * writes it: an access function that tracks writes (for snapshot diffs)
 * then sees this one, however long ago the ring's pointer was taken. */
void virtq_device_push(struct virtq_device *q, uint16_t head, uint32_t written);

/* As virtq_device_push, for a request whose writable buffers the device
 * wrote: they are accessed for writing again first, for the same reason
 * (a request may be held, taken long before it is filled). */
void virtq_device_complete(struct virtq_device *q, const struct virtq_chain *chain,
			   uint32_t written);

/* ---- Driver side (the guest) ---- */

struct virtq_driver {
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t free_head; /* free descriptors, linked through next */
	uint16_t num_free;
	uint16_t last_used;		/* used entries seen so far */
	bool in_flight[VIRTQ_MAX_SIZE]; /* heads the device holds */
};

/* Lays a queue of `size` entries (a power of two) out in `block`, which
 * is virtq_layout(size).total zeroed bytes. */
void virtq_driver_init(struct virtq_driver *q, void *block, uint16_t size);

/* A buffer the driver offers: its device-visible address and length. */
struct virtq_segment {
	uint64_t addr;
	uint32_t len;
	bool device_writes;
};

/* Makes a request of n segments (readable ones first) available; returns
 * its head, or -1 when too few descriptors are free.  The caller then
 * notifies the device. */
int virtq_driver_add(struct virtq_driver *q, const struct virtq_segment *seg, unsigned int n);

/* The next request the device finished: true with its head and the bytes
 * the device wrote; its descriptors are free again. */
bool virtq_driver_take_used(struct virtq_driver *q, uint16_t *head, uint32_t *written);

/* True when the device has finished a request not yet taken. */
bool virtq_driver_has_used(const struct virtq_driver *q);

#endif
