/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* pthread_timedjoin_np */
/*
 * The console's thread holds at most one receive request and polls stdin
 * only while it does: lispvm reads no input the program did not ask for.
 * The read itself runs without the lock, so a reset from the vCPU thread
 * never waits for input; a request that a reset made stale is dropped.
 */
#include "virtio_console.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "device_thread.h"
#include "vcpu_kick.h"

static int take_queue(struct virtio_console *c, struct virtq_device *q,
		      const struct virtio_mmio_queue *mq, const char **why)
{
	if (!mq->ready) {
		*why = "queue not ready at DRIVER_OK";
		return -1;
	}
	return virtq_device_init(q, mq->num, mq->desc, mq->avail, mq->used, device_access_guest,
				 (void *)c->mem, why);
}

static int console_start(void *dev, const struct virtio_mmio_queue *queues, unsigned int nr,
			 const char **why)
{
	struct virtio_console *c = dev;
	int rc = -1;
	uint64_t one = 1;

	(void)nr;
	pthread_mutex_lock(&c->lock);
	if (take_queue(c, &c->rx, &queues[LISPVM_VIRTIO_CONSOLE_RX], why) == 0 &&
	    take_queue(c, &c->tx, &queues[LISPVM_VIRTIO_CONSOLE_TX], why) == 0) {
		c->live = true;
		c->generation++;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc == 0 && write(c->notify_fd, &one, sizeof(one)) < 0)
		return 0; /* the counter is full: the thread is awake anyway */
	return rc;
}

static void console_reset(void *dev)
{
	struct virtio_console *c = dev;

	pthread_mutex_lock(&c->lock);
	c->live = false;
	c->generation++;
	pthread_mutex_unlock(&c->lock);
}

static const struct virtio_mmio_device_ops console_ops = {
	.start = console_start,
	.reset = console_reset,
};

/* Called with the lock held; the VM ends at the next kick. */
static void fail(struct virtio_console *c, const char *why)
{
	c->failure = why;
	c->live = false;
	vcpu_kick();
}

/* Writes one transmit request out whole (what the guest wrote is gone
 * from its point of view once the request is used). */
static void transmit(struct virtio_console *c, const struct virtq_chain *chain)
{
	for (unsigned int i = 0; i < chain->count; i++) {
		const struct virtq_buffer *b = &chain->buf[i];

		for (uint32_t done = 0; done < b->len;) {
			ssize_t n = write(c->out_fd, b->host + done, b->len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return; /* stdout gone: the bytes are dropped */
			done += (uint32_t)n;
		}
	}
}

/* Called with the lock held.  Sends every transmit request. */
static void drain_transmit(struct virtio_console *c)
{
	struct virtq_chain chain;
	const char *why;
	enum virtq_pop_result r;
	bool used = false;

	while ((r = virtq_device_pop(&c->tx, &chain, &why)) == VIRTQ_CHAIN) {
		transmit(c, &chain);
		virtq_device_push(&c->tx, chain.head, 0);
		used = true;
	}
	if (r == VIRTQ_MALFORMED)
		fail(c, why);
	if (used)
		device_interrupt(&c->mmio, c->irq_fd);
}

struct held_request {
	bool held;
	uint64_t generation;
	struct virtq_chain chain;
};

/* Called with the lock held: serve what the guest queued. */
static void serve_queues(struct virtio_console *c, struct held_request *rx)
{
	const char *why;

	if (rx->held && rx->generation != c->generation)
		rx->held = false;
	if (!c->live)
		return;
	drain_transmit(c);
	if (!rx->held && c->live) {
		switch (virtq_device_pop(&c->rx, &rx->chain, &why)) {
		case VIRTQ_CHAIN:
			rx->held = true;
			rx->generation = c->generation;
			break;
		case VIRTQ_MALFORMED:
			fail(c, why);
			break;
		case VIRTQ_EMPTY:
			break;
		}
	}
}

/* One read(2) of stdin into the held request; -1 to try again later
 * (interrupted, or a non-blocking stdin with nothing yet). */
static int64_t read_input(struct virtio_console *c, const struct virtq_chain *chain)
{
	struct iovec iov[VIRTQ_MAX_CHAIN];
	unsigned int n = 0;
	ssize_t got;

	for (unsigned int i = 0; i < chain->count; i++)
		if (chain->buf[i].device_writes)
			iov[n++] = (struct iovec){chain->buf[i].host, chain->buf[i].len};
	got = readv(c->in_fd, iov, (int)n);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	return got > 0 ? got : 0; /* an error ends input as end of file does */
}

static void complete_input(struct virtio_console *c, struct held_request *rx, uint32_t len)
{
	pthread_mutex_lock(&c->lock);
	if (c->live && rx->generation == c->generation) {
		virtq_device_complete(&c->rx, &rx->chain, len);
		device_interrupt(&c->mmio, c->irq_fd);
	}
	rx->held = false;
	pthread_mutex_unlock(&c->lock);
}

/* Without a receive request in hand, the thread also looks at the avail
 * ring every CONSOLE_RECHECK_MS: under nested KVM on QEMU TCG, a guest's
 * request was seen waiting with no notify having woken this thread (100
 * MB of stdin stopped at 88 MB), as the guest side once missed an
 * interrupt (drivers/virtio_console.h); a lost kick must cost a moment,
 * not the program. */
#define CONSOLE_RECHECK_MS 50

static void *console_thread(void *arg)
{
	struct virtio_console *c = arg;
	struct held_request rx = {0};

	for (;;) {
		struct pollfd fds[3] = {{.fd = c->stop_fd, .events = POLLIN},
					{.fd = c->notify_fd, .events = POLLIN},
					{.fd = c->in_fd, .events = POLLIN}};

		int timeout;

		device_pause_point(&c->pause);
		pthread_mutex_lock(&c->lock);
		serve_queues(c, &rx);
		timeout = !rx.held && c->live ? CONSOLE_RECHECK_MS : -1;
		pthread_mutex_unlock(&c->lock);
		if (poll(fds, rx.held ? 3 : 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			device_drain_eventfd(c->notify_fd);
		if (rx.held && fds[2].revents) {
			int64_t got = (fds[2].revents & POLLNVAL) ? 0 : read_input(c, &rx.chain);

			if (got >= 0)
				complete_input(c, &rx, (uint32_t)got);
		}
	}
	return NULL;
}

int virtio_console_open(struct virtio_console *c, const struct guest_memory *mem, uint64_t gpa,
			int in_fd, int out_fd, char *err, size_t err_size)
{
	*c = (struct virtio_console){.opened = true, .notify_fd = -1, .irq_fd = -1, .stop_fd = -1};
	pthread_mutex_init(&c->lock, NULL);
	device_pause_init(&c->pause);
	c->mem = mem;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	virtio_mmio_init(&c->mmio, gpa, VIRTIO_ID_CONSOLE, 0, 2, &console_ops, c);
	if (device_eventfds((int *const[]){&c->notify_fd, &c->irq_fd, &c->stop_fd}, 3, "console",
			    err, err_size) < 0 ||
	    device_thread_start(&c->thread, console_thread, c, SANDBOX_CONSOLE, err, err_size) < 0)
		return -1;
	c->thread_started = true;
	return 0;
}

const char *virtio_console_failure(struct virtio_console *c)
{
	const char *why;

	pthread_mutex_lock(&c->lock);
	why = c->failure;
	pthread_mutex_unlock(&c->lock);
	return why;
}

/* The thread sees stop_fd unless it is inside a read that another
 * reader of the same terminal made block; then it is cancelled there
 * (read is a cancellation point, and no lock is held around it). */
static void stop_thread(struct virtio_console *c)
{
	uint64_t one = 1;
	struct timespec deadline;

	if (write(c->stop_fd, &one, sizeof(one)) == sizeof(one)) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		if (pthread_timedjoin_np(c->thread, NULL, &deadline) == 0)
			return;
	}
	pthread_cancel(c->thread);
	pthread_join(c->thread, NULL);
}

void virtio_console_close(struct virtio_console *c)
{
	if (!c->opened)
		return;
	if (c->thread_started) {
		stop_thread(c);
		c->thread_started = false;
	}
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	if (c->irq_fd >= 0)
		close(c->irq_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->notify_fd = c->irq_fd = c->stop_fd = -1;
	pthread_mutex_destroy(&c->lock);
	device_pause_destroy(&c->pause);
	c->opened = false;
}
