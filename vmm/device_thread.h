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
#include <time.h>

#include "sandbox.h"
#include "virtio_mmio.h"

/* Sets *fds[0..n) to new non-blocking, close-on-exec eventfds.  0, or -1
 * with a reason naming `what` (the fds made so far stay set). */
int device_eventfds(int *const *fds, unsigned int n, const char *what, char *err, size_t err_size);

/* Starts fn(arg) with every signal blocked but SIGSYS, in a thread named
 * after role that has installed role's seccomp filter before fn runs
 * (SANDBOX_SAME_AS_CREATOR: one that keeps its creator's).  0, or -1
 * with a reason. */
int device_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, enum sandbox_role role,
			char *err, size_t err_size);

/* The device used buffers: InterruptStatus says so and the MSI goes out
 * through irq_fd (KVM's irqfd). */
void device_interrupt(struct virtio_mmio *m, int irq_fd);

/* Consumes an eventfd's count (nothing pending is fine). */
void device_drain_eventfd(int fd);

/* The virtqueue access callback over a struct guest_memory (ctx): every
 * ring and buffer address through the one checked accessor. */
void *device_access_guest(void *ctx, uint64_t addr, uint64_t len, bool write);

/* A condition variable whose timed waits count CLOCK_MONOTONIC, and a
 * deadline ms from now on that clock: the host's wall clock may jump. */
void monotonic_cond_init(pthread_cond_t *cond);
struct timespec monotonic_deadline(unsigned int ms);

/* A device thread held at a safe point (the top of its loop: between
 * requests, holding no lock) while a snapshot of the running VM is taken,
 * so nothing it does writes guest memory or the queues meanwhile. */
struct device_pause {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool requested, paused;
};

void device_pause_init(struct device_pause *p);
void device_pause_destroy(struct device_pause *p);
/* The device thread, at the top of its loop: waits there while a pause
 * is asked for. */
void device_pause_point(struct device_pause *p);
/* Asks for a pause, waking the thread through wake_fd (an eventfd it
 * polls), and waits up to timeout_ms for it to be held.  0, or -1 when it
 * was busy that long (a write to a host reader that does not read); the
 * request is withdrawn then. */
int device_pause(struct device_pause *p, int wake_fd, unsigned int timeout_ms);
void device_resume(struct device_pause *p);

#endif
