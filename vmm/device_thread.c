/* SPDX-License-Identifier: MIT */
#include "device_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest_memory.h"

int device_eventfds(int *const *fds, unsigned int n, const char *what, char *err, size_t err_size)
{
	for (unsigned int i = 0; i < n; i++) {
		*fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (*fds[i] < 0) {
			snprintf(err, err_size, "eventfd for the %s: %s", what, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int device_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
			char *err, size_t err_size)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, err_size, "cannot start the %s thread: %s", what, strerror(rc));
		return -1;
	}
	return 0;
}

void device_interrupt(struct virtio_mmio *m, int irq_fd)
{
	uint64_t one = 1;

	virtio_mmio_note_used(m);
	if (write(irq_fd, &one, sizeof(one)) < 0)
		return; /* counter full: an interrupt is pending anyway */
}

void device_drain_eventfd(int fd)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return; /* nothing pending (EAGAIN) */
}

void *device_access_guest(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	return guest_memory_access(ctx, addr, len, write ? GUEST_WRITE : GUEST_READ);
}
