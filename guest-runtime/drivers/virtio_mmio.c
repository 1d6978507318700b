/* SPDX-License-Identifier: MIT */
/*
 * Each register access is an exit to the VMM, so the handshake does only
 * what the spec requires and runs once, when a device is first used.
 */
#include "drivers/virtio_mmio.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "kernel/memory.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */

static uint32_t reg_read(const struct virtio_mmio_device *d, unsigned int off)
{
	return d->regs[off / 4];
}

static void reg_write(struct virtio_mmio_device *d, unsigned int off, uint32_t v)
{
	d->regs[off / 4] = v;
}

static void set_status(struct virtio_mmio_device *d, uint32_t bits)
{
	reg_write(d, VIRTIO_MMIO_STATUS, reg_read(d, VIRTIO_MMIO_STATUS) | bits);
}

int virtio_mmio_begin(struct virtio_mmio_device *d, const struct boot_device *b)
{
	d->regs = phys_to_virt(b->gpa);
	d->notify_port = b->notify_port;
	if (reg_read(d, VIRTIO_MMIO_MAGIC_VALUE) != MMIO_MAGIC ||
	    reg_read(d, VIRTIO_MMIO_VERSION) != 2 ||
	    reg_read(d, VIRTIO_MMIO_DEVICE_ID) != b->device_id)
		return -1;
	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 - 32))))
		goto failed;
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	set_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		goto failed;
	return 0;
failed:
	set_status(d, VIRTIO_CONFIG_S_FAILED);
	return -1;
}

int virtio_mmio_setup_queue(struct virtio_mmio_device *d, unsigned int index, uint16_t size,
			    uint64_t phys)
{
	struct virtq_layout l = virtq_layout(size);

	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (reg_read(d, VIRTIO_MMIO_QUEUE_READY) != 0 ||
	    reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < size)
		return -1;
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)phys);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(phys >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(phys + l.avail_off));
	reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)((phys + l.avail_off) >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(phys + l.used_off));
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)((phys + l.used_off) >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

uint32_t virtio_mmio_config_read32(const struct virtio_mmio_device *d, unsigned int off)
{
	return reg_read(d, VIRTIO_MMIO_CONFIG + off);
}

void virtio_mmio_driver_ok(struct virtio_mmio_device *d)
{
	set_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
}

void virtio_mmio_notify(struct virtio_mmio_device *d, unsigned int index)
{
	/* The ring writes must be visible before the device looks. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->notify_port != 0)
		__asm__ volatile("outw %w0, %w1" : : "a"((uint16_t)index), "Nd"(d->notify_port));
	else
		reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}
