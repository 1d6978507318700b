/* SPDX-License-Identifier: MIT */
/*
 * The device end of a split virtqueue.  Everything in the rings is the
 * driver's and may change under us or be hostile, so each field is read
 * once into a local and checked there.
 */
#include "virtqueue.h"

static bool is_power_of_two(uint16_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int virtq_device_init(struct virtq_device *q, uint16_t size, uint64_t desc, uint64_t avail,
		      uint64_t used, virtq_access_fn access, void *ctx, const char **why)
{
	if (!is_power_of_two(size) || size > VIRTQ_MAX_SIZE) {
		*why = "queue size is not a power of two up to 256";
		return -1;
	}
	if (desc % VRING_DESC_ALIGN_SIZE || avail % VRING_AVAIL_ALIGN_SIZE ||
	    used % VRING_USED_ALIGN_SIZE) {
		*why = "queue part misaligned";
		return -1;
	}
	q->desc = access(ctx, desc, virtq_desc_bytes(size), false);
	q->avail = access(ctx, avail, virtq_avail_bytes(size), false);
	q->used = access(ctx, used, virtq_used_bytes(size), true);
	if (q->desc == NULL || q->avail == NULL || q->used == NULL) {
		*why = "queue outside guest RAM";
		return -1;
	}
	q->size = size;
	q->used_addr = used;
	/* The used index the guest holds (zero on a new queue): a device
	 * restored from a snapshot takes up its queues where they stood, and
	 * requests taken but not completed when it was saved are taken again
	 * (this device completes requests in the order it takes them). */
	q->next_used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	q->next_avail = q->next_used;
	q->access = access;
	q->ctx = ctx;
	return 0;
}

static struct vring_desc read_desc(const struct virtq_device *q, uint16_t i)
{
	const volatile struct vring_desc *d = &q->desc[i];

	return (struct vring_desc){
		.addr = d->addr, .len = d->len, .flags = d->flags, .next = d->next};
}

static enum virtq_pop_result malformed(const char **why, const char *reason)
{
	*why = reason;
	return VIRTQ_MALFORMED;
}

/* Adds descriptor d to out; NULL, or why it is refused. */
static const char *take_buffer(const struct virtq_device *q, struct vring_desc d,
			       struct virtq_chain *out, uint64_t *readable, uint64_t *writable)
{
	bool device_writes = (d.flags & VRING_DESC_F_WRITE) != 0;
	struct virtq_buffer *b = &out->buf[out->count];

	if (d.flags & VRING_DESC_F_INDIRECT)
		return "indirect descriptor (not offered)";
	if (d.len == 0)
		return "zero-length descriptor";
	if (!device_writes && *writable != 0)
		return "readable descriptor after a writable one";
	b->host = q->access(q->ctx, d.addr, d.len, device_writes);
	if (b->host == NULL)
		return device_writes ? "writable buffer outside writable guest RAM"
				     : "buffer outside guest RAM";
	b->addr = d.addr;
	b->len = d.len;
	b->device_writes = device_writes;
	*(device_writes ? writable : readable) += d.len;
	out->count++;
	return NULL;
}

enum virtq_pop_result virtq_device_pop(struct virtq_device *q, struct virtq_chain *out,
				       const char **why)
{
	uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->next_avail);
	uint64_t readable = 0, writable = 0;
	uint16_t i;

	if (pending == 0)
		return VIRTQ_EMPTY;
	if (pending > q->size)
		return malformed(why, "available index ran more than the queue size ahead");
	i = ((volatile uint16_t *)q->avail->ring)[q->next_avail & (q->size - 1)];
	if (i >= q->size)
		return malformed(why, "available head outside the descriptor table");
	out->head = i;
	out->count = 0;
	for (;;) {
		struct vring_desc d = read_desc(q, i);
		const char *refused;

		if (out->count == VIRTQ_MAX_CHAIN || out->count == q->size)
			return malformed(why, "descriptor chain too long or looping");
		if ((refused = take_buffer(q, d, out, &readable, &writable)) != NULL)
			return malformed(why, refused);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= q->size)
			return malformed(why, "next descriptor outside the table");
	}
	if (readable > UINT32_MAX || writable > UINT32_MAX)
		return malformed(why, "request larger than 4 GiB");
	out->readable_bytes = (uint32_t)readable;
	out->writable_bytes = (uint32_t)writable;
	q->next_avail++;
	return VIRTQ_CHAIN;
}

void virtq_device_push(struct virtq_device *q, uint16_t head, uint32_t written)
{
	volatile struct vring_used_elem *e = &q->used->ring[q->next_used & (q->size - 1)];

	(void)q->access(q->ctx, q->used_addr, virtq_used_bytes(q->size), true);
	e->id = head;
	e->len = written;
	q->next_used++;
	__atomic_store_n(&q->used->idx, q->next_used, __ATOMIC_RELEASE);
}

void virtq_device_complete(struct virtq_device *q, const struct virtq_chain *chain,
			   uint32_t written)
{
	for (unsigned int i = 0; i < chain->count; i++)
		if (chain->buf[i].device_writes)
			(void)q->access(q->ctx, chain->buf[i].addr, chain->buf[i].len, true);
	virtq_device_push(q, chain->head, written);
}
