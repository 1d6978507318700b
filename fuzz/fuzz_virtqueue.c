/* SPDX-License-Identifier: MIT */
/*
 * The device end of a split virtqueue (virtio/virtqueue_device.c) against
 * a hostile driver: a queue of any size (powers of two, others, 0, 512)
 * at any addresses, then a script of descriptor writes (any address,
 * length, flags and next), available-ring entries, jumps of the available
 * index, raw stores anywhere, and the device popping, holding and
 * completing requests.  Every chain it hands out is checked against the
 * memory map (each buffer exactly where the driver said, inside one
 * region, writable when the device may write it, readable ones first,
 * the byte counts right) and touched at both ends; the used index must
 * follow each completion.
 */
#include <stdlib.h>

#include "fuzz_guest_memory.h"
#include "fuzz_ring.h"
#include "virtqueue.h"

#define MAX_STEPS 96
#define MAX_HELD  4

static struct fuzz_guest guest;

static void *access_guest(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	return guest_memory_access(ctx, addr, len, write ? GUEST_WRITE : GUEST_READ);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_guest_init(&guest);
	return 0;
}

static void check_chain(const struct virtq_device *q, const struct virtq_chain *c)
{
	uint64_t readable = 0, writable = 0;

	if (c->count == 0 || c->count > VIRTQ_MAX_CHAIN || c->count > q->size || c->head >= q->size)
		fuzz_fail("chain length or head");
	for (unsigned int i = 0; i < c->count; i++) {
		const struct virtq_buffer *b = &c->buf[i];
		volatile uint8_t *first = b->host, *last = b->host + b->len - 1;

		if (b->len == 0 || b->host != fuzz_guest_at(&guest, b->addr, b->len))
			fuzz_fail("a buffer not where its descriptor says");
		if (b->device_writes && !guest_memory_writable(&guest.mem, b->addr, b->len))
			fuzz_fail("a writable buffer in read-only memory");
		if (!b->device_writes && writable != 0)
			fuzz_fail("a readable buffer after a writable one");
		*(b->device_writes ? &writable : &readable) += b->len;
		if (b->device_writes) {
			*first = *first;
			*last = *last;
		} else {
			(void)*first;
			(void)*last;
		}
	}
	if (readable != c->readable_bytes || writable != c->writable_bytes)
		fuzz_fail("the byte counts");
}

static uint16_t pick_size(struct fuzz_input *in)
{
	static const uint16_t sizes[] = {1, 2, 4, 8, 16, 256, 0, 3, 512};
	unsigned int pick = fuzz_u8(in) % (sizeof(sizes) / sizeof(sizes[0]) + 1);

	return pick < sizeof(sizes) / sizeof(sizes[0]) ? sizes[pick] : fuzz_u16(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct virtq_chain held[MAX_HELD];
	unsigned int nr_held = 0;
	struct virtq_device q;
	struct fuzz_ring r;
	const char *why;
	uint16_t qsize;

	fuzz_guest_reset(&guest);
	qsize = pick_size(&in);
	if (fuzz_u8(&in) & 1) {
		r = fuzz_ring_at(fuzz_edge(&in), qsize); /* laid out as our driver does */
	} else {
		r.desc = fuzz_edge(&in);
		r.avail = fuzz_edge(&in);
		r.used = fuzz_edge(&in);
		r.size = qsize;
	}
	if (virtq_device_init(&q, qsize, r.desc, r.avail, r.used, access_guest, &guest.mem, &why) <
	    0)
		return 0;
	for (int step = 0; step < MAX_STEPS && !fuzz_done(&in); step++) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 6) {
		case 0: {
			uint16_t i = fuzz_u16(&in) & 0x1ff;
			uint64_t addr = fuzz_edge(&in);
			uint32_t len = (uint32_t)fuzz_edge(&in);
			uint16_t flags = fuzz_u8(&in);

			fuzz_ring_desc(&guest, &r, i, addr, len, flags, fuzz_u16(&in) & 0x1ff);
			break;
		}
		case 1:
			fuzz_ring_offer(&guest, &r, fuzz_u16(&in) & 0x1ff);
			break;
		case 2: {
			uint16_t idx = fuzz_u16(&in);

			fuzz_guest_put(&guest, r.avail + 2, &idx, sizeof(idx));
			break;
		}
		case 3: {
			struct virtq_chain c;

			if (virtq_device_pop(&q, &c, &why) != VIRTQ_CHAIN)
				break;
			check_chain(&q, &c);
			if (nr_held < MAX_HELD)
				held[nr_held++] = c;
			else
				virtq_device_complete(&q, &c, c.writable_bytes);
			break;
		}
		case 4: {
			unsigned int k;
			uint32_t written = fuzz_u32(&in);

			if (nr_held == 0)
				break;
			k = fuzz_u8(&in) % nr_held;
			if (op & 0x80)
				virtq_device_push(&q, held[k].head, written);
			else
				virtq_device_complete(&q, &held[k], written);
			held[k] = held[--nr_held];
			if (fuzz_ring_used_idx(&guest, &r) != q.next_used)
				fuzz_fail("the used index after a completion");
			break;
		}
		default: {
			uint64_t gpa = fuzz_edge(&in);
			const uint8_t *bytes;
			size_t n = fuzz_take(&in, fuzz_u8(&in), &bytes);

			fuzz_guest_put(&guest, gpa, bytes, n);
			break;
		}
		}
	}
	return 0;
}
