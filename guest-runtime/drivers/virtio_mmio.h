/* SPDX-License-Identifier: MIT */
/* The driver side of the virtio-mmio transport: bringing a device up
 * (status handshake, VIRTIO_F_VERSION_1 only, queues) and notifying it. */
#ifndef GUEST_DRIVERS_VIRTIO_MMIO_H
#define GUEST_DRIVERS_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/boot_info.h"
#include "virtqueue.h"

struct virtio_mmio_device {
	volatile uint32_t *regs; /* the register page, mapped uncached */
	uint16_t notify_port;	 /* lispvm's port-I/O doorbell, or 0 */
};

/* Checks the registers of the device tree's device b name a version-2
 * device of its kind, resets it and agrees on VIRTIO_F_VERSION_1.  0, or
 * -1 (no such device, or it wants features we lack). */
int virtio_mmio_begin(struct virtio_mmio_device *d, const struct boot_device *b);

/* Gives the device queue `index`, of `size` entries, laid out in the
 * zeroed, physically contiguous block at phys (virtq_layout(size)). 0,
 * or -1 when the device cannot take that many entries. */
int virtio_mmio_setup_queue(struct virtio_mmio_device *d, unsigned int index, uint16_t size,
			    uint64_t phys);

/* The 32-bit word at offset off of the device's configuration space. */
uint32_t virtio_mmio_config_read32(const struct virtio_mmio_device *d, unsigned int off);

/* All queues are set up: the device may use them. */
void virtio_mmio_driver_ok(struct virtio_mmio_device *d);

/* The driver made buffers available on queue `index`. */
void virtio_mmio_notify(struct virtio_mmio_device *d, unsigned int index);

#endif
