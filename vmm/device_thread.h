/* SPDX-License-Identifier: MIT */
/* What every virtio device thread needs: its eventfds, a thread that
 * takes no signals (SIGINT and friends are the vCPU thread's, to stop
 * KVM_RUN), interrupts, and the guest-memory callback for its queues. */
#ifndef LISPVM_VMM_DEVICE_THREAD_H
#define LISPVM_VMM_DEVICE_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_mmio.h"

/* Sets *fds[0..n) to new non-blocking, close-on-exec eventfds.  0, or -1
 * with a reason naming `what` (the fds made so far stay set). */
int device_eventfds(int *const *fds, unsigned int n, const char *what, char *err, size_t err_size);

/* Starts fn(arg) with every signal blocked.  0, or -1 with a reason. */
int device_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
			char *err, size_t err_size);

/* The device used buffers: InterruptStatus says so and the MSI goes out
 * through irq_fd (KVM's irqfd). */
void device_interrupt(struct virtio_mmio *m, int irq_fd);

/* Consumes an eventfd's count (nothing pending is fine). */
void device_drain_eventfd(int fd);

/* The virtqueue access callback over a struct guest_memory (ctx): every
 * ring and buffer address through the one checked accessor. */
void *device_access_guest(void *ctx, uint64_t addr, uint64_t len, bool write);

#endif
