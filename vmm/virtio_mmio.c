/* SPDX-License-Identifier: MIT */
/*
 * Registers the driver may not write are ignored and registers it may not
 * read read as zero, as the spec leaves them: the guest gets nothing from
 * misusing them, and only a queue the device cannot use (at DRIVER_OK)
 * stops the VM.
 */
#include "virtio_mmio.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>

#include <lispvm/abi.h>

#include "virtqueue.h"

#define MMIO_MAGIC  0x74726976 /* "virt" */
#define MMIO_VENDOR 0x4c56     /* "LV" */

void virtio_mmio_init(struct virtio_mmio *m, uint64_t gpa, uint32_t device_id, uint64_t features,
		      unsigned int nr_queues, const struct virtio_mmio_device_ops *ops, void *dev)
{
	memset(m, 0, sizeof(*m));
	m->gpa = gpa;
	m->device_id = device_id;
	m->features = features | (1ull << VIRTIO_F_VERSION_1);
	m->nr_queues = nr_queues;
	m->ops = ops;
	m->dev = dev;
}

void virtio_mmio_set_config(struct virtio_mmio *m, const void *config, uint32_t len)
{
	m->config = config;
	m->config_len = len <= 256 ? len : 256;
}

/* Bytes past the end of the configuration space read as zero. */
static void read_config(const struct virtio_mmio *m, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	for (uint32_t i = 0; i < len; i++)
		if (off + i < m->config_len)
			data[i] = m->config[off + i];
}

bool virtio_mmio_claims(const struct virtio_mmio *m, uint64_t gpa)
{
	return gpa >= m->gpa && gpa - m->gpa < LISPVM_VIRTIO_MMIO_SIZE;
}

static struct virtio_mmio_queue *selected_queue(struct virtio_mmio *m)
{
	return m->queue_sel < m->nr_queues ? &m->queues[m->queue_sel] : NULL;
}

static uint32_t read_register(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_mmio_queue *q = selected_queue(m);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return m->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return m->device_features_sel < 2
			       ? (uint32_t)(m->features >> (32 * m->device_features_sel))
			       : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&m->interrupt_status, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_STATUS:
		return m->status;
	default:
		return 0; /* write-only registers, config space, generation 0 */
	}
}

static void reset(struct virtio_mmio *m)
{
	m->ops->reset(m->dev);
	m->status = 0;
	m->device_features_sel = m->driver_features_sel = m->queue_sel = 0;
	m->driver_features = 0;
	memset(m->queues, 0, sizeof(m->queues));
	__atomic_store_n(&m->interrupt_status, 0, __ATOMIC_RELEASE);
}

/* FEATURES_OK sticks only for a subset of the offer with VERSION_1 (the
 * driver reads it back to learn that); DRIVER_OK starts the device.
 * Only a reset clears bits (the driver must not, virtio 1.x, 2.1.1): were
 * DRIVER_OK cleared and set again, start would run on a live device,
 * which goes on serving its old queues while start replaces them. */
static int write_status(struct virtio_mmio *m, uint32_t value, const char **why)
{
	uint32_t added = value & ~m->status;

	if (value == 0) {
		reset(m);
		return 0;
	}
	if (m->status & ~value)
		return 0;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((m->driver_features & ~m->features) ||
	     !(m->driver_features & (1ull << VIRTIO_F_VERSION_1))))
		value &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && (m->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if (m->ops->start(m->dev, m->queues, m->nr_queues, why) < 0) {
			m->status = value | VIRTIO_CONFIG_S_NEEDS_RESET;
			return -1;
		}
	}
	m->status = value;
	return 0;
}

static void set_half(uint64_t *v, bool high, uint32_t value)
{
	*v = high ? (*v & 0xffffffffull) | ((uint64_t)value << 32) : (*v & ~0xffffffffull) | value;
}

/* Queue registers hold while the queue is live. */
static void write_queue_register(struct virtio_mmio_queue *q, uint64_t off, uint32_t value)
{
	if (q == NULL || (q->ready && off != VIRTIO_MMIO_QUEUE_READY))
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->num = value <= VIRTQ_MAX_SIZE ? (uint16_t)value : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		q->ready = value & 1;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, value);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, value);
		break;
	}
}

static int write_register(struct virtio_mmio *m, uint64_t off, uint32_t value, const char **why)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = value;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = value;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (m->driver_features_sel < 2 && !(m->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&m->driver_features, m->driver_features_sel == 1, value);
		return 0;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = value;
		return 0;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_and_fetch(&m->interrupt_status, ~value, __ATOMIC_ACQ_REL);
		return 0;
	case VIRTIO_MMIO_STATUS:
		return write_status(m, value, why);
	default:
		/* A started device has taken its queues: none of them changes,
		 * QueueReady 0 included, before a reset. */
		if (!(m->status & VIRTIO_CONFIG_S_DRIVER_OK))
			write_queue_register(selected_queue(m), off, value);
		return 0;
	}
}

int virtio_mmio_access(struct virtio_mmio *m, uint64_t gpa, uint8_t *data, uint32_t len,
		       bool is_write, const char **why)
{
	uint64_t off = gpa - m->gpa;
	uint32_t value = 0;

	/* Registers are 32-bit and aligned; the config space may be read in
	 * any width and is not written. */
	if (off >= VIRTIO_MMIO_CONFIG && len <= 8) {
		if (!is_write)
			read_config(m, off - VIRTIO_MMIO_CONFIG, data, len);
		return 0;
	}
	if (len != 4 || off % 4 || off >= VIRTIO_MMIO_CONFIG) {
		if (!is_write)
			memset(data, 0, len);
		return 0;
	}
	if (!is_write) {
		value = read_register(m, off);
		memcpy(data, &value, 4);
		return 0;
	}
	memcpy(&value, data, 4);
	return write_register(m, off, value, why);
}

void virtio_mmio_note_used(struct virtio_mmio *m)
{
	__atomic_or_fetch(&m->interrupt_status, VIRTIO_MMIO_INT_VRING, __ATOMIC_ACQ_REL);
}

void virtio_mmio_save(const struct virtio_mmio *m, struct virtio_mmio_state *out)
{
	memset(out, 0, sizeof(*out));
	out->device_id = m->device_id;
	out->status = m->status;
	out->device_features_sel = m->device_features_sel;
	out->driver_features_sel = m->driver_features_sel;
	out->queue_sel = m->queue_sel;
	out->interrupt_status = __atomic_load_n(&m->interrupt_status, __ATOMIC_ACQUIRE);
	out->driver_features = m->driver_features;
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		const struct virtio_mmio_queue *q = &m->queues[i];

		out->queues[i].num = q->num;
		out->queues[i].ready = q->ready;
		out->queues[i].desc = q->desc;
		out->queues[i].avail = q->avail;
		out->queues[i].used = q->used;
	}
}

int virtio_mmio_restore(struct virtio_mmio *m, const struct virtio_mmio_state *s, const char **why)
{
	if (s->device_id != m->device_id) {
		*why = "the snapshot has another device in this slot";
		return -1;
	}
	m->device_features_sel = s->device_features_sel;
	m->driver_features_sel = s->driver_features_sel;
	m->queue_sel = s->queue_sel;
	m->driver_features = s->driver_features;
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		struct virtio_mmio_queue *q = &m->queues[i];

		q->num = (uint16_t)s->queues[i].num;
		q->ready = s->queues[i].ready != 0;
		q->desc = s->queues[i].desc;
		q->avail = s->queues[i].avail;
		q->used = s->queues[i].used;
	}
	if ((s->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(s->status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	    m->ops->start(m->dev, m->queues, m->nr_queues, why) < 0)
		return -1;
	m->status = s->status;
	__atomic_store_n(&m->interrupt_status, s->interrupt_status, __ATOMIC_RELEASE);
	return 0;
}
