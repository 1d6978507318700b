/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.x, section 5.10) between the guest and host Unix
 * sockets, with Firecracker's host convention so its tooling works:
 *  - the VM listens on a Unix socket at `path`; a host client connects,
 *    writes "CONNECT <port>\n" and, once the guest listener on <port>
 *    accepts, reads "OK <hostport>\n" and then has a byte stream;
 *  - a guest connect() to the host (CID 2) port P reaches the Unix
 *    socket `path`_P, if something listens there.
 * Streams only.  Each connection has a bounded receive buffer that the
 * guest's credit (buf_alloc/fwd_cnt) keeps it from overrunning; a guest
 * that sends past its credit loses that connection (RST), so a guest
 * that floods a host reader that does not read cannot make the VMM grow.
 * The device runs on its own thread; the guest's queue notifications and
 * the device's interrupts travel through eventfds (ioeventfd, irqfd).
 */
#ifndef LISPVM_VMM_VIRTIO_VSOCK_H
#define LISPVM_VMM_VIRTIO_VSOCK_H

#include <linux/virtio_vsock.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_thread.h"
#include "guest_memory.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

#define VSOCK_HOST_CID	    2
#define VSOCK_QUEUE_RX	    0
#define VSOCK_QUEUE_TX	    1
#define VSOCK_QUEUE_EVENT   2
#define VSOCK_MAX_CONNS	    128
#define VSOCK_CONN_BUF	    (128 * 1024) /* the credit each connection gives the guest */
#define VSOCK_MAX_RSTS	    64		 /* resets owed for unknown connections */
#define VSOCK_HANDSHAKE_MAX 32		 /* "CONNECT 4294967295\n" fits */
#define VSOCK_PATH_MAX	    100		 /* sun_path, with room for "_4294967295" */
/* A host client has this long to send its CONNECT line, and the guest to
 * answer it. */
#define VSOCK_HANDSHAKE_TIMEOUT_MS 10000

struct vsock_conn;

struct vsock_reset {
	uint32_t local_port, peer_port;
};

struct virtio_vsock {
	bool opened;
	struct virtio_mmio mmio;
	struct virtio_vsock_config config;
	const struct guest_memory *mem;
	char path[VSOCK_PATH_MAX];
	bool bound_path; /* listen_fd was bound here: path goes at close */
	uint64_t guest_cid;
	int listen_fd, notify_fd, irq_fd, stop_fd;
	unsigned int handshake_timeout_ms; /* VSOCK_HANDSHAKE_TIMEOUT_MS; tests set less */

	pthread_t thread;
	bool thread_started;
	struct device_pause pause; /* a snapshot of the running VM holds the thread */
	pthread_mutex_t lock;	   /* everything below */
	bool live;
	struct virtq_device rx, tx, event;
	bool has_event_queue;
	bool reset_owed;	     /* a TRANSPORT_RESET event for the guest */
	struct virtq_chain rx_chain; /* a receive buffer taken and not yet used */
	bool rx_held;
	struct vsock_conn *conns; /* VSOCK_MAX_CONNS */
	uint32_t next_local_port;
	struct vsock_reset resets[VSOCK_MAX_RSTS];
	unsigned int nr_resets;
	const char *failure; /* the guest broke a queue: the VM must stop */
};

/* Makes the device at gpa, listening on path (which must not exist; it
 * is removed again at close), or on listen_fd when that is not -1: a
 * socket already listening at path, made by whoever started the VMM and
 * left to it.  0, or -1 with a one-line reason. */
int virtio_vsock_open(struct virtio_vsock *v, const struct guest_memory *mem, uint64_t gpa,
		      const char *path, int listen_fd, uint64_t guest_cid, char *err,
		      size_t err_size);

/* A VM resumed from a snapshot of a running one: its streams were the
 * old VMM's.  The guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the
 * event queue, ends every stream and reads its CID again (virtio 1.2,
 * 5.10.6.7); listeners stay.  Called before the device is restored, so
 * that no packet (a host client's connect, say) reaches the guest ahead
 * of the reset; a driver reset drops it.
 *
 * first_port is the old VMM's virtio_vsock_next_port(): host ports from
 * it on are new to the guest.  Until the guest takes the reset it still
 * sends for its old streams (a session closing as it resumed), and such a
 * packet must not match a new stream that reused the old one's port. */
void virtio_vsock_transport_reset(struct virtio_vsock *v, uint32_t first_port);

/* The host port the next host client's stream gets; every stream so far
 * had a lower one (unless the 32-bit count wrapped). */
uint32_t virtio_vsock_next_port(struct virtio_vsock *v);

/* Why the device stopped the VM, or NULL. */
const char *virtio_vsock_failure(struct virtio_vsock *v);

void virtio_vsock_close(struct virtio_vsock *v);

#endif
