/* SPDX-License-Identifier: MIT */
/*
 * Receive: every receive buffer stays offered to the device; the
 * interrupt passes each filled one to the socket layer, which copies the
 * payload out, and offers it again at once.  Transmit: a packet is copied
 * into a buffer of its own (data packets into one of a few large ones,
 * header-only packets into small ones), so a sender never waits for the
 * host to read its memory, and the interrupt takes finished ones back.
 * The kernel runs with interrupts off, so none of this races with the
 * socket layer's own work.
 */
#include "drivers/virtio_vsock.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <string.h>

#include "drivers/virtio_mmio.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "linux/scheduler.h"
#include "linux/snapshot_point.h"
#include "linux/uaccess.h"
#include "net/vsock.h"

#define QUEUE_RX	  0
#define QUEUE_TX	  1
#define QUEUE_EVENT	  2
#define RX_QUEUE_SIZE	  8
#define TX_QUEUE_SIZE	  128
#define TX_DATA_SLOTS	  4
#define TX_CONTROL_SLOTS  64 /* header-only packets, in one page */
#define EVENT_QUEUE_SIZE  4
#define CONTROL_SLOT_SIZE 64
#define NO_SLOT		  0xffff
#define HDR_SIZE	  ((uint32_t)sizeof(struct virtio_vsock_hdr))

enum vvsock_state { VVSOCK_ABSENT, VVSOCK_IDLE, VVSOCK_LIVE, VVSOCK_BROKEN };

static struct {
	enum vvsock_state state;
	struct boot_device device; /* from the device tree */
	struct virtio_mmio_device dev;
	struct virtq_driver rx, tx, event;
	uint32_t guest_cid;
	uint64_t rx_buffer[RX_QUEUE_SIZE]; /* by descriptor head */
	uint64_t tx_data[TX_DATA_SLOTS];
	uint64_t tx_control;		       /* the page of control slots */
	uint64_t events;		       /* a page of event buffers */
	uint16_t event_slot[EVENT_QUEUE_SIZE]; /* by head: which buffer */
	uint32_t tx_data_free;
	uint64_t tx_control_free;
	uint16_t tx_slot[TX_QUEUE_SIZE]; /* by head: data slot, or control + TX_DATA_SLOTS */
	bool freed_unseen;		 /* buffers came back since the socket layer heard */
} vv;

const char vvsock_tx_chan;

void vvsock_configure(const struct boot_info *bi)
{
	const struct boot_device *d = boot_device_find(bi, VIRTIO_ID_VSOCK);

	if (d == NULL)
		return;
	vv.device = *d;
	vv.state = VVSOCK_IDLE;
}

uint32_t vvsock_guest_cid(void)
{
	return vv.guest_cid;
}

/* Zeroed pages holding a queue of `size` entries, given to the device. */
static int setup_queue(struct virtq_driver *q, unsigned int index, uint16_t size)
{
	uint64_t bytes = virtq_layout(size).total;
	size_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t phys = pmem_alloc_pages(pages);

	if (phys == 0)
		return -1;
	memset(phys_to_virt(phys), 0, pages * PAGE_SIZE);
	virtq_driver_init(q, phys_to_virt(phys), size);
	return virtio_mmio_setup_queue(&vv.dev, index, size, phys);
}

static bool offer_rx(uint64_t phys)
{
	struct virtq_segment seg = {.addr = phys, .len = VVSOCK_BUFFER_SIZE, .device_writes = true};
	int head = virtq_driver_add(&vv.rx, &seg, 1);

	if (head < 0)
		return false;
	vv.rx_buffer[head] = phys;
	return true;
}

static bool alloc_buffers(void)
{
	for (unsigned int i = 0; i < RX_QUEUE_SIZE; i++) {
		uint64_t phys = pmem_alloc_pages(VVSOCK_BUFFER_SIZE / PAGE_SIZE);

		if (phys == 0 || !offer_rx(phys))
			return false;
	}
	for (unsigned int i = 0; i < TX_DATA_SLOTS; i++)
		if ((vv.tx_data[i] = pmem_alloc_pages(VVSOCK_BUFFER_SIZE / PAGE_SIZE)) == 0)
			return false;
	vv.tx_control = pmem_alloc_zeroed_page();
	vv.tx_data_free = (1u << TX_DATA_SLOTS) - 1;
	vv.tx_control_free = ~0ull;
	return vv.tx_control != 0;
}

static bool offer_event(uint16_t slot)
{
	struct virtq_segment seg = {.addr = vv.events + slot * sizeof(struct virtio_vsock_event),
				    .len = sizeof(struct virtio_vsock_event),
				    .device_writes = true};
	int head = virtq_driver_add(&vv.event, &seg, 1);

	if (head < 0 || head >= EVENT_QUEUE_SIZE)
		return false;
	vv.event_slot[head] = slot;
	return true;
}

static bool offer_events(void)
{
	vv.events = pmem_alloc_zeroed_page();
	if (vv.events == 0)
		return false;
	for (uint16_t i = 0; i < EVENT_QUEUE_SIZE; i++)
		if (!offer_event(i))
			return false;
	return true;
}

int vvsock_start(void)
{
	if (vv.state == VVSOCK_LIVE)
		return 0;
	if (vv.state != VVSOCK_IDLE)
		return vv.state == VVSOCK_ABSENT ? -ENODEV : -EIO;
	vv.state = VVSOCK_BROKEN;
	if (virtio_mmio_begin(&vv.dev, &vv.device) < 0 ||
	    setup_queue(&vv.rx, QUEUE_RX, RX_QUEUE_SIZE) < 0 ||
	    setup_queue(&vv.tx, QUEUE_TX, TX_QUEUE_SIZE) < 0 ||
	    setup_queue(&vv.event, QUEUE_EVENT, EVENT_QUEUE_SIZE) < 0 || !alloc_buffers() ||
	    !offer_events())
		return -EIO;
	vv.guest_cid = virtio_mmio_config_read32(&vv.dev, 0);
	virtio_mmio_driver_ok(&vv.dev);
	virtio_mmio_notify(&vv.dev, QUEUE_RX);
	virtio_mmio_notify(&vv.dev, QUEUE_EVENT);
	vv.state = VVSOCK_LIVE;
	return 0;
}

/* Takes back the buffers of packets the device has sent. */
static void reclaim_tx(void)
{
	uint16_t head, slot;
	uint32_t written;
	bool freed = false;

	while (virtq_driver_take_used(&vv.tx, &head, &written)) {
		slot = vv.tx_slot[head];
		if (slot < TX_DATA_SLOTS)
			vv.tx_data_free |= 1u << slot;
		else if (slot != NO_SLOT)
			vv.tx_control_free |= 1ull << (slot - TX_DATA_SLOTS);
		vv.tx_slot[head] = NO_SLOT;
		freed = true;
	}
	if (freed) {
		sched_wake_all(&vvsock_tx_chan);
		sched_wake_all(&sched_poll_chan); /* writable again */
		vv.freed_unseen = true;
	}
}

bool vvsock_can_send_data(void)
{
	return vv.state == VVSOCK_LIVE && (vv.tx_data_free != 0 || virtq_driver_has_used(&vv.tx));
}

/* A free buffer for a packet with len bytes of payload: its slot number
 * and physical address, or NO_SLOT. */
static uint16_t take_slot(uint32_t len, uint64_t *phys)
{
	unsigned int i;

	if (len > 0) {
		if (vv.tx_data_free == 0)
			return NO_SLOT;
		i = (unsigned int)__builtin_ctz(vv.tx_data_free);
		vv.tx_data_free &= ~(1u << i);
		*phys = vv.tx_data[i];
		return (uint16_t)i;
	}
	if (vv.tx_control_free == 0)
		return NO_SLOT;
	i = (unsigned int)__builtin_ctzll(vv.tx_control_free);
	vv.tx_control_free &= ~(1ull << i);
	*phys = vv.tx_control + i * CONTROL_SLOT_SIZE;
	return (uint16_t)(TX_DATA_SLOTS + i);
}

static void give_back_slot(uint16_t slot)
{
	if (slot < TX_DATA_SLOTS)
		vv.tx_data_free |= 1u << slot;
	else
		vv.tx_control_free |= 1ull << (slot - TX_DATA_SLOTS);
}

int vvsock_send(struct virtio_vsock_hdr *h, const void *data, uint32_t len)
{
	struct virtq_segment seg;
	uint64_t phys;
	uint16_t slot;
	uint8_t *buf;
	int head;

	if (vv.state != VVSOCK_LIVE)
		return -EIO;
	if (len > VVSOCK_MAX_PAYLOAD)
		len = VVSOCK_MAX_PAYLOAD;
	reclaim_tx();
	slot = take_slot(len, &phys);
	if (slot == NO_SLOT)
		return -EAGAIN;
	buf = phys_to_virt(phys);
	h->src_cid = vv.guest_cid;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->len = len;
	memcpy(buf, h, HDR_SIZE);
	if (len > 0 && uaccess_copy(buf + HDR_SIZE, data, len) != 0) {
		give_back_slot(slot);
		return -EFAULT;
	}
	seg = (struct virtq_segment){.addr = phys, .len = HDR_SIZE + len};
	head = virtq_driver_add(&vv.tx, &seg, 1);
	if (head < 0) { /* more slots than descriptors: cannot happen */
		give_back_slot(slot);
		return -EAGAIN;
	}
	vv.tx_slot[head] = slot;
	virtio_mmio_notify(&vv.dev, QUEUE_TX);
	return 0;
}

static void take_events(void);

/* Hands every filled receive buffer to the socket layer and offers it
 * again. */
static void receive(void)
{
	uint16_t head;
	uint32_t written;
	bool offered = false;

	while (virtq_driver_take_used(&vv.rx, &head, &written)) {
		uint64_t phys = vv.rx_buffer[head];
		const struct virtio_vsock_hdr *h = phys_to_virt(phys);

		/* The device puts a transport reset on the event queue before
		 * any packet that follows it: seen first, it cannot end a
		 * stream this packet begins. */
		take_events();
		if (written >= HDR_SIZE && h->len <= written - HDR_SIZE)
			vsock_receive(h, (const uint8_t *)(h + 1));
		offered |= offer_rx(phys);
	}
	if (offered)
		virtio_mmio_notify(&vv.dev, QUEUE_RX);
}

/* A TRANSPORT_RESET comes when the VM was resumed from a snapshot by
 * another VMM: every stream is gone, and the CID may have changed. */
static void take_events(void)
{
	uint16_t head;
	uint32_t written;
	bool offered = false;

	while (virtq_driver_take_used(&vv.event, &head, &written)) {
		uint16_t slot = head < EVENT_QUEUE_SIZE ? vv.event_slot[head] : 0;
		const struct virtio_vsock_event *e =
			(const struct virtio_vsock_event *)phys_to_virt(vv.events) + slot;

		if (head >= EVENT_QUEUE_SIZE)
			continue;
		if (written >= sizeof(*e) && e->id == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			vv.guest_cid = virtio_mmio_config_read32(&vv.dev, 0);
			vsock_transport_reset(vv.guest_cid);
			snapshot_point_resumed();
		}
		offered |= offer_event(slot);
	}
	if (offered)
		virtio_mmio_notify(&vv.dev, QUEUE_EVENT);
}

bool vvsock_live(void)
{
	return vv.state == VVSOCK_LIVE;
}

void vvsock_recheck(void)
{
	if (vv.state == VVSOCK_LIVE &&
	    (virtq_driver_has_used(&vv.rx) || virtq_driver_has_used(&vv.tx) ||
	     virtq_driver_has_used(&vv.event)))
		vvsock_interrupt();
}

void vvsock_interrupt(void)
{
	if (vv.state != VVSOCK_LIVE)
		return;
	reclaim_tx();
	/* Here, not in reclaim_tx: vsock_transmit_done sends, and sending
	 * reclaims. */
	if (vv.freed_unseen) {
		vv.freed_unseen = false;
		vsock_transmit_done();
	}
	take_events();
	receive();
}
