/* SPDX-License-Identifier: MIT */
/*
 * One receive buffer, one request in flight at a time: input arrives in
 * the order it is read, and the host never reads more than a reader
 * asked for.  Bytes a reader did not take wait in the buffer for the
 * next read.  The kernel runs with interrupts off, so looking at the used
 * ring and then waiting cannot miss the interrupt in between.
 */
#include "drivers/virtio_console.h"

#include <errno.h>
#include <linux/poll.h>
#include <linux/virtio_ids.h>

#include <lispvm/abi.h>

#include "drivers/virtio_mmio.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define QUEUE_SIZE	2
#define RX_BUFFER_PAGES 16 /* one request per 64 KiB: each is several exits */
#define RX_BUFFER_SIZE	(RX_BUFFER_PAGES * 4096)

enum vconsole_state { VCONSOLE_ABSENT, VCONSOLE_IDLE, VCONSOLE_LIVE, VCONSOLE_BROKEN };

static struct {
	enum vconsole_state state;
	struct boot_device device; /* from the device tree */
	struct virtio_mmio_device dev;
	struct virtq_driver rx, tx;
	char *buf;
	uint64_t buf_phys;
	bool posted;	    /* a receive request is with the device */
	uint32_t have, off; /* bytes received, bytes already read */
	bool eof;	    /* an end of input not yet reported */
} vc;

/* What readers wait on. */
static const char vconsole_chan;

void vconsole_configure(const struct boot_info *bi)
{
	const struct boot_device *d = boot_device_find(bi, VIRTIO_ID_CONSOLE);

	if (d == NULL)
		return;
	vc.device = *d;
	vc.state = VCONSOLE_IDLE;
}

bool vconsole_present(void)
{
	return vc.state != VCONSOLE_ABSENT;
}

/* A zeroed page holding a queue of QUEUE_SIZE entries, given to the
 * device as queue `index`. */
static int setup_queue(struct virtq_driver *q, unsigned int index)
{
	uint64_t phys = pmem_alloc_zeroed_page();

	if (phys == 0)
		return -1;
	virtq_driver_init(q, phys_to_virt(phys), QUEUE_SIZE);
	return virtio_mmio_setup_queue(&vc.dev, index, QUEUE_SIZE, phys);
}

static bool bring_up(void)
{
	if (vc.state == VCONSOLE_LIVE)
		return true;
	if (vc.state != VCONSOLE_IDLE)
		return false;
	vc.state = VCONSOLE_BROKEN;
	vc.buf_phys = pmem_alloc_pages(RX_BUFFER_PAGES);
	if (vc.buf_phys == 0 || virtio_mmio_begin(&vc.dev, &vc.device) < 0 ||
	    setup_queue(&vc.rx, LISPVM_VIRTIO_CONSOLE_RX) < 0 ||
	    setup_queue(&vc.tx, LISPVM_VIRTIO_CONSOLE_TX) < 0)
		return false;
	vc.buf = phys_to_virt(vc.buf_phys);
	virtio_mmio_driver_ok(&vc.dev);
	vc.state = VCONSOLE_LIVE;
	return true;
}

/* Takes a finished receive request, if there is one. */
static void collect(void)
{
	uint16_t head;
	uint32_t written;

	if (!virtq_driver_take_used(&vc.rx, &head, &written))
		return;
	vc.posted = false;
	if (written == 0) {
		vc.eof = true;
		return;
	}
	vc.have = written < RX_BUFFER_SIZE ? written : RX_BUFFER_SIZE;
	vc.off = 0;
}

static bool readable(void)
{
	return vc.off < vc.have || vc.eof;
}

/* Asks the device for at most len bytes of input. */
static void ask_for_input(uint64_t len)
{
	struct virtq_segment seg = {
		.addr = vc.buf_phys,
		.len = (uint32_t)(len < RX_BUFFER_SIZE ? len : RX_BUFFER_SIZE),
		.device_writes = true,
	};

	if (vc.posted || virtq_driver_add(&vc.rx, &seg, 1) < 0)
		return;
	vc.posted = true;
	vc.have = vc.off = 0;
	virtio_mmio_notify(&vc.dev, LISPVM_VIRTIO_CONSOLE_RX);
}

static int64_t take_input(void *buf, uint64_t len)
{
	uint64_t n = vc.have - vc.off;

	if (vc.off == vc.have) {
		vc.eof = false;
		return 0;
	}
	if (n > len)
		n = len;
	if (uaccess_copy(buf, vc.buf + vc.off, n) != 0)
		return -EFAULT;
	vc.off += (uint32_t)n;
	return (int64_t)n;
}

int64_t vconsole_read(void *buf, uint64_t len, bool nonblock)
{
	if (!bring_up())
		return -EIO;
	if (len == 0)
		return 0;
	for (;;) {
		collect();
		if (readable())
			return take_input(buf, len);
		ask_for_input(len);
		if (nonblock)
			return -EAGAIN;
		if (sched_wait_on(&vconsole_chan) < 0)
			return -ERESTARTSYS;
	}
}

unsigned int vconsole_poll(void)
{
	if (!bring_up())
		return POLLERR;
	collect();
	if (readable())
		return POLLIN | POLLRDNORM;
	ask_for_input(RX_BUFFER_SIZE);
	return 0;
}

bool vconsole_awaits_device(void)
{
	return vc.state == VCONSOLE_LIVE && vc.posted;
}

void vconsole_recheck(void)
{
	if (vconsole_awaits_device() && virtq_driver_has_used(&vc.rx))
		vconsole_interrupt();
}

void vconsole_interrupt(void)
{
	sched_wake_all(&vconsole_chan);
	sched_wake_all(&sched_poll_chan);
}
