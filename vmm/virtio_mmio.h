/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (virtio 1.x, section 4.2, version 2
 * registers): what a guest sees when it reads and writes a device's
 * register page.  The device behind it (the console) gets its queues when
 * the driver sets DRIVER_OK and loses them at reset; the transport itself
 * only runs on the vCPU thread.
 */
#ifndef LISPVM_VMM_VIRTIO_MMIO_H
#define LISPVM_VMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_MAX_QUEUES 3 /* vsock: rx, tx, event */

struct virtio_mmio_queue {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
};

struct virtio_mmio_device_ops {
	/* The driver set DRIVER_OK: take the queues.  0, or -1 with why
	 * (a queue the device cannot use). */
	int (*start)(void *dev, const struct virtio_mmio_queue *queues, unsigned int nr,
		     const char **why);
	/* The driver reset the device: stop using the queues before
	 * returning. */
	void (*reset)(void *dev);
};

struct virtio_mmio {
	/* Fixed when the device is made. */
	uint64_t gpa;
	uint32_t device_id;
	uint64_t features; /* offered; VIRTIO_F_VERSION_1 is added */
	unsigned int nr_queues;
	const struct virtio_mmio_device_ops *ops;
	void *dev;
	/* The device-specific configuration space (read-only here; its
	 * generation never changes), or NULL. */
	const uint8_t *config;
	uint32_t config_len;
	/* What the driver wrote. */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	struct virtio_mmio_queue queues[VIRTIO_MMIO_MAX_QUEUES];
	/* VIRTIO_MMIO_INT_* bits; the device thread sets them. */
	uint32_t interrupt_status;
};

/* What the driver set, as a snapshot keeps it (docs/snapshots.md). */
struct virtio_mmio_state {
	uint32_t device_id;
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t interrupt_status;
	uint64_t driver_features;
	struct {
		uint32_t num, ready;
		uint64_t desc, avail, used;
	} queues[VIRTIO_MMIO_MAX_QUEUES];
};

void virtio_mmio_init(struct virtio_mmio *m, uint64_t gpa, uint32_t device_id, uint64_t features,
		      unsigned int nr_queues, const struct virtio_mmio_device_ops *ops, void *dev);

/* Gives the device a configuration space of len bytes (at most 256), read
 * by the driver at VIRTIO_MMIO_CONFIG in any width; it must outlive m. */
void virtio_mmio_set_config(struct virtio_mmio *m, const void *config, uint32_t len);

/* Whether gpa falls in this device's register page. */
bool virtio_mmio_claims(const struct virtio_mmio *m, uint64_t gpa);

/* A guest read (fills data) or write of len bytes at gpa.  0, or -1 with
 * why when the device could not start on what the driver set up. */
int virtio_mmio_access(struct virtio_mmio *m, uint64_t gpa, uint8_t *data, uint32_t len,
		       bool is_write, const char **why);

/* With the device's thread stopped. */
void virtio_mmio_save(const struct virtio_mmio *m, struct virtio_mmio_state *out);
/* Onto a device just made, never touched by the driver: its registers
 * as saved and, when the driver had started it, its queues taken where
 * they stand in guest memory.  0, or -1 with why (another kind of
 * device, or queues the device cannot use). */
int virtio_mmio_restore(struct virtio_mmio *m, const struct virtio_mmio_state *s, const char **why);

/* The device finished requests: InterruptStatus says so. */
void virtio_mmio_note_used(struct virtio_mmio *m);

#endif
