/* SPDX-License-Identifier: MIT */
/*
 * The virtio console: port 0 carries lispvm's stdin into the guest
 * (receiveq) and the guest's writes to lispvm's stdout (transmitq).  Its
 * own thread waits for host input and guest notifications, so a guest
 * thread that reads stdin blocks alone, woken by the device's interrupt.
 */
#ifndef LISPVM_VMM_VIRTIO_CONSOLE_H
#define LISPVM_VMM_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_thread.h"
#include "guest_memory.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

struct virtio_console {
	bool opened;
	struct virtio_mmio mmio;
	const struct guest_memory *mem;
	int in_fd, out_fd;
	int notify_fd; /* the guest wrote QueueNotify (ioeventfd) */
	int irq_fd;    /* raise the device's MSI (irqfd) */
	int stop_fd;   /* the thread should end */
	pthread_t thread;
	bool thread_started;
	struct device_pause pause; /* a snapshot of the running VM holds the thread */
	pthread_mutex_t lock;	   /* the fields below */
	bool live;		   /* queues taken at DRIVER_OK, until reset */
	uint64_t generation;	   /* counts starts and resets */
	struct virtq_device rx, tx;
	const char *failure; /* how the guest broke a queue; ends the VM */
};

/* Makes the device whose registers are at gpa and starts its thread.
 * The VMM then has KVM signal notify_fd on QueueNotify writes and turn
 * irq_fd into the device's interrupt (kvm_irq.h); tests use the two
 * eventfds directly.  0, or -1 with the reason in err. */
int virtio_console_open(struct virtio_console *c, const struct guest_memory *mem, uint64_t gpa,
			int in_fd, int out_fd, char *err, size_t err_size);

/* NULL, or why the device stopped (a malformed queue). */
const char *virtio_console_failure(struct virtio_console *c);

/* Stops the thread and closes the eventfds; nothing for a device never
 * opened (zeroed). */
void virtio_console_close(struct virtio_console *c);

#endif
