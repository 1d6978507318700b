/* SPDX-License-Identifier: MIT */
/*
 * The driver end of a split virtqueue.  The device is trusted no further
 * than its used ring: an id outside the table or not in flight is
 * ignored rather than followed.
 */
#include "virtqueue.h"

void virtq_driver_init(struct virtq_driver *q, void *block, uint16_t size)
{
	struct virtq_layout l = virtq_layout(size);

	q->size = size;
	q->desc = block;
	q->avail = (struct vring_avail *)((uint8_t *)block + l.avail_off);
	q->used = (struct vring_used *)((uint8_t *)block + l.used_off);
	for (uint16_t i = 0; i + 1 < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = size;
	q->last_used = 0;
	for (uint16_t i = 0; i < size; i++)
		q->in_flight[i] = false;
}

int virtq_driver_add(struct virtq_driver *q, const struct virtq_segment *seg, unsigned int n)
{
	uint16_t head = q->free_head, i = head, last = head;
	uint16_t idx;

	if (n == 0 || n > q->num_free)
		return -1;
	for (unsigned int k = 0; k < n; k++) {
		struct vring_desc *d = &q->desc[i];

		d->addr = seg[k].addr;
		d->len = seg[k].len;
		d->flags = (uint16_t)((seg[k].device_writes ? VRING_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = d->next;
	}
	q->free_head = q->desc[last].next;
	q->num_free = (uint16_t)(q->num_free - n);
	q->in_flight[head] = true;
	idx = q->avail->idx;
	q->avail->ring[idx & (q->size - 1)] = head;
	__atomic_store_n(&q->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return head;
}

bool virtq_driver_has_used(const struct virtq_driver *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

/* Puts the chain at head back on the free list. */
static void free_chain(struct virtq_driver *q, uint16_t head)
{
	uint16_t i = head, n = 1;

	while ((q->desc[i].flags & VRING_DESC_F_NEXT) && n < q->size) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + n);
}

bool virtq_driver_take_used(struct virtq_driver *q, uint16_t *head, uint32_t *written)
{
	while (virtq_driver_has_used(q)) {
		struct vring_used_elem e = q->used->ring[q->last_used & (q->size - 1)];

		q->last_used++;
		if (e.id >= q->size || !q->in_flight[e.id])
			continue;
		q->in_flight[e.id] = false;
		free_chain(q, (uint16_t)e.id);
		*head = (uint16_t)e.id;
		*written = e.len;
		return true;
	}
	return false;
}
