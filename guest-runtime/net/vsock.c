/* SPDX-License-Identifier: MIT */
/*
 * AF_VSOCK streams, the protocol of virtio-vsock (virtio 1.x, 5.10) as
 * Linux's virtio transport speaks it: REQUEST/RESPONSE to connect, RW
 * packets within the peer's credit (buf_alloc, fwd_cnt), SHUTDOWN to
 * half-close, RST to refuse or end.  The only peer is the host, CID 2.
 *
 * Packets arrive in the device's interrupt; the kernel runs with
 * interrupts off, so a socket's state changes only between system calls
 * or while its caller waits.  Every socket with a port is on one list,
 * which the few sockets a program has make cheap to search.
 *
 * Each stream has a receive ring of VSOCK_RX_BUF bytes; the host never
 * sends past it, and one that did would lose the stream.  A closed
 * stream is forgotten at once after its SHUTDOWN: the host's answering
 * RST, like any packet for a stream we do not know, is then ignored (or,
 * for anything but an RST, answered with one).
 */
#include "net/vsock.h"

#include <asm/ioctls.h>
#include <errno.h>
#include <linux/poll.h>
#include <linux/vm_sockets.h>
#include <string.h>
#include <sys/socket.h>

#include "drivers/virtio_vsock.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"
#include "net/socket.h"

#define VSOCK_RX_BUF	   (128 * 1024)
#define FIRST_EPHEMERAL	   1024u
#define MAX_BACKLOG	   4096
#define CONNECT_TIMEOUT_NS (2ull * 1000 * 1000 * 1000) /* Linux's default */
#define NS_PER_SEC	   1000000000ull

enum vsock_state {
	VS_UNCONNECTED, /* new, or after a failed connect */
	VS_LISTENING,
	VS_CONNECTING,
	VS_CONNECTED, /* until closed, even after the peer has gone */
};

struct vsock {
	struct socket sock;
	struct vsock *next; /* on the list of sockets with a port */
	enum vsock_state state;
	bool bound, shares_port; /* an accepted stream has its listener's port */
	uint32_t local_cid, local_port;
	uint32_t peer_cid, peer_port;
	int error; /* SO_ERROR: why a connect failed */
	/* Listening: connections not yet accepted, oldest first. */
	int backlog;
	unsigned int nr_queued;
	struct vsock *queue_head, *queue_tail, *queue_next;
	/* Receiving: a ring; rx_out is also our fwd_cnt. */
	uint8_t *rx;
	uint32_t rx_in, rx_out, fwd_told;
	/* Control packets that found no transmit buffer, sent when one frees
	 * up; a closed stream waits here for its SHUTDOWN before it goes. */
	bool credit_owed, shutdown_owed, closing;
	/* Sending, within the peer's credit. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool peer_done_sending, peer_done_reading, rd_shut, wr_shut;
	/* Ended by a transport reset: the device that knew the stream is
	 * gone, and a new one may give its host port to a new stream, so
	 * nothing matches it and nothing is sent for it any more. */
	bool gone;
};

static const struct socket_ops vsock_ops;
static struct vsock *sockets;
static uint32_t next_ephemeral = FIRST_EPHEMERAL;

static struct vsock *vsock_of(struct socket *s)
{
	return (struct vsock *)s;
}

/* Wakes whoever waits on v: readers, writers, connect, accept, poll. */
static void changed(struct vsock *v)
{
	sched_wake_all(v);
	sched_wake_all(&sched_poll_chan);
}

/* ---- ports ---- */

static void list_add(struct vsock *v)
{
	v->next = sockets;
	sockets = v;
}

static void list_remove(struct vsock *v)
{
	for (struct vsock **p = &sockets; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			return;
		}
}

static bool port_taken(uint32_t port)
{
	for (struct vsock *v = sockets; v; v = v->next)
		if (v->local_port == port && !v->shares_port)
			return true;
	return false;
}

static int bind_port(struct vsock *v, uint32_t cid, uint32_t port)
{
	if (port == VMADDR_PORT_ANY) {
		for (uint32_t tries = 0;; tries++) {
			if (tries == 0xffffffffu - FIRST_EPHEMERAL)
				return -EADDRNOTAVAIL;
			port = next_ephemeral++;
			if (next_ephemeral == VMADDR_PORT_ANY)
				next_ephemeral = FIRST_EPHEMERAL;
			if (!port_taken(port))
				break;
		}
	} else if (port_taken(port)) {
		return -EADDRINUSE;
	}
	v->bound = true;
	v->local_cid = cid;
	v->local_port = port;
	list_add(v);
	return 0;
}

/* The stream the packet belongs to, else the listener it asks for. */
static struct vsock *find_stream(uint32_t local, uint32_t peer_cid, uint32_t peer)
{
	for (struct vsock *v = sockets; v; v = v->next)
		if ((v->state == VS_CONNECTED || v->state == VS_CONNECTING) && !v->closing &&
		    !v->gone && v->local_port == local && v->peer_port == peer &&
		    v->peer_cid == peer_cid)
			return v;
	return NULL;
}

static struct vsock *find_listener(uint32_t local)
{
	for (struct vsock *v = sockets; v; v = v->next)
		if (v->state == VS_LISTENING && v->local_port == local)
			return v;
	return NULL;
}

/* ---- packets out ---- */

static uint32_t peer_credit(const struct vsock *v)
{
	uint32_t in_flight = v->tx_cnt - v->peer_fwd_cnt;

	return in_flight < v->peer_buf_alloc ? v->peer_buf_alloc - in_flight : 0;
}

static struct virtio_vsock_hdr stream_header(struct vsock *v, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h = {
		.dst_cid = v->peer_cid,
		.src_port = v->local_port,
		.dst_port = v->peer_port,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_RX_BUF,
		.fwd_cnt = v->rx_out,
	};

	return h;
}

/* A packet on v's stream; the host knows our fwd_cnt once it went. */
static int send_packet(struct vsock *v, struct virtio_vsock_hdr *h, const void *data, uint32_t len)
{
	int rc;

	if (v->gone)
		return 0; /* as if sent: nobody is there to hear it */
	rc = vvsock_send(h, data, len);

	if (rc == 0)
		v->fwd_told = h->fwd_cnt;
	return rc;
}

/* A header-only packet on v's stream; -EAGAIN when no buffer is free. */
static int send_control(struct vsock *v, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h = stream_header(v, op, flags);

	return send_packet(v, &h, NULL, 0);
}

/* As send_control, waiting for a buffer; -EINTR if a signal comes. */
static int send_control_wait(struct vsock *v, uint16_t op, uint32_t flags)
{
	for (;;) {
		int rc = send_control(v, op, flags);

		if (rc != -EAGAIN)
			return rc;
		if (sched_wait_on(&vvsock_tx_chan) < 0)
			return -EINTR;
	}
}

/* Tells the host how much we have read once it is a quarter of the ring,
 * so it never stalls on credit we have but did not announce. */
static void update_credit(struct vsock *v)
{
	if (v->rx_out - v->fwd_told < VSOCK_RX_BUF / 4 || v->peer_done_sending)
		return;
	v->credit_owed = send_control(v, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0) == -EAGAIN;
}

static void free_vsock(struct vsock *v);

void vsock_transmit_done(void)
{
	for (struct vsock *v = sockets, *next; v; v = next) {
		next = v->next;
		if (v->credit_owed && v->state == VS_CONNECTED && !v->closing) {
			v->credit_owed = false;
			if (v->rx_out != v->fwd_told)
				v->credit_owed = send_control(v, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
							      0) == -EAGAIN;
		}
		if (v->shutdown_owed)
			v->shutdown_owed =
				send_control(v, VIRTIO_VSOCK_OP_SHUTDOWN,
					     VIRTIO_VSOCK_SHUTDOWN_RCV |
						     VIRTIO_VSOCK_SHUTDOWN_SEND) == -EAGAIN;
		if (v->closing && !v->shutdown_owed)
			free_vsock(v);
	}
}

/* RST for a packet that belongs to no stream. */
static void refuse(const struct virtio_vsock_hdr *h)
{
	struct virtio_vsock_hdr r = {
		.dst_cid = h->src_cid,
		.src_port = h->dst_port,
		.dst_port = h->src_port,
		.op = VIRTIO_VSOCK_OP_RST,
	};

	if (h->op != VIRTIO_VSOCK_OP_RST)
		vvsock_send(&r, NULL, 0);
}

/* ---- packets in ---- */

/* The stream is over: the peer reset it or shut both ways. */
static void peer_closed(struct vsock *v)
{
	v->peer_done_sending = v->peer_done_reading = true;
}

static void take_data(struct vsock *v, const uint8_t *payload, uint32_t len)
{
	uint32_t at = v->rx_in % VSOCK_RX_BUF, first = VSOCK_RX_BUF - at;

	if (v->peer_done_sending)
		return;
	if (len > VSOCK_RX_BUF - (v->rx_in - v->rx_out)) {
		/* The host went past our credit: the stream is broken. */
		send_control(v, VIRTIO_VSOCK_OP_RST, 0);
		peer_closed(v);
		return;
	}
	if (first > len)
		first = len;
	/* Kernel to kernel, but through the host where ring 0 is slow. */
	uaccess_copy(v->rx + at, payload, first);
	uaccess_copy(v->rx, payload + first, len - first);
	v->rx_in += len;
}

static void connected_packet(struct vsock *v, const struct virtio_vsock_hdr *h,
			     const uint8_t *payload)
{
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		take_data(v, payload, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break; /* the header's credit is all it says */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		v->credit_owed = send_control(v, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0) == -EAGAIN;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			v->peer_done_reading = true;
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			v->peer_done_sending = true;
		if (v->peer_done_reading && v->peer_done_sending)
			send_control(v, VIRTIO_VSOCK_OP_RST, 0);
		break;
	case VIRTIO_VSOCK_OP_RST:
		peer_closed(v);
		break;
	default: /* REQUEST or RESPONSE on a live stream: broken */
		send_control(v, VIRTIO_VSOCK_OP_RST, 0);
		peer_closed(v);
		break;
	}
}

static void stream_packet(struct vsock *v, const struct virtio_vsock_hdr *h, const uint8_t *payload)
{
	v->peer_buf_alloc = h->buf_alloc;
	v->peer_fwd_cnt = h->fwd_cnt;
	if (v->state == VS_CONNECTING) {
		if (h->op == VIRTIO_VSOCK_OP_RESPONSE) {
			v->state = VS_CONNECTED;
		} else {
			refuse(h);
			v->state = VS_UNCONNECTED;
			v->error = ECONNRESET; /* what Linux says for a refused port */
		}
	} else if (v->peer_done_sending && v->peer_done_reading) {
		refuse(h);
	} else {
		connected_packet(v, h, payload);
	}
	changed(v);
}

static struct vsock *new_vsock(void)
{
	struct vsock *v = kzalloc(sizeof(*v));

	if (v == NULL)
		return NULL;
	v->sock = (struct socket){.ops = &vsock_ops, .family = AF_VSOCK, .type = SOCK_STREAM};
	return v;
}

/* A host client connects to our listener l: a new stream, answered at
 * once and queued for accept (refused when the queue is full). */
static void incoming(struct vsock *l, const struct virtio_vsock_hdr *h)
{
	struct vsock *c = NULL;

	if (l->nr_queued > (unsigned int)l->backlog || (c = new_vsock()) == NULL ||
	    (c->rx = kmalloc(VSOCK_RX_BUF)) == NULL) {
		if (c != NULL)
			kfree(c);
		refuse(h);
		return;
	}
	c->state = VS_CONNECTED;
	c->bound = c->shares_port = true;
	c->local_cid = vvsock_guest_cid();
	c->local_port = l->local_port;
	c->peer_cid = (uint32_t)h->src_cid;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	list_add(c);
	if (send_control(c, VIRTIO_VSOCK_OP_RESPONSE, 0) < 0) {
		list_remove(c);
		kfree(c->rx);
		kfree(c);
		return; /* the host's client sees its connection close */
	}
	if (l->queue_tail)
		l->queue_tail->queue_next = c;
	else
		l->queue_head = c;
	l->queue_tail = c;
	l->nr_queued++;
	changed(l);
}

void vsock_transport_reset(uint32_t guest_cid)
{
	for (struct vsock *v = sockets, *next; v; v = next) {
		next = v->next;
		v->local_cid = guest_cid;
		v->credit_owed = v->shutdown_owed = false;
		if (v->closing) {
			free_vsock(v);
			continue;
		}
		if (v->state == VS_CONNECTING) {
			v->state = VS_UNCONNECTED;
			v->error = ECONNRESET;
		} else if (v->state == VS_CONNECTED) {
			peer_closed(v);
			v->gone = true;
		}
		changed(v);
	}
}

void vsock_receive(const struct virtio_vsock_hdr *h, const uint8_t *payload)
{
	struct vsock *v;

	if (h->type != VIRTIO_VSOCK_TYPE_STREAM || h->dst_cid != vvsock_guest_cid() ||
	    h->src_cid > 0xffffffffu)
		return;
	v = find_stream(h->dst_port, (uint32_t)h->src_cid, h->src_port);
	if (v != NULL) {
		stream_packet(v, h, payload);
		return;
	}
	if (h->op == VIRTIO_VSOCK_OP_REQUEST && (v = find_listener(h->dst_port)) != NULL) {
		incoming(v, h);
		return;
	}
	refuse(h);
}

/* ---- socket operations ---- */

static int check_addr(const void *addr, uint32_t len)
{
	const struct sockaddr_vm *a = addr;

	if (len < sizeof(*a))
		return -EINVAL;
	return a->svm_family == AF_VSOCK ? 0 : -EAFNOSUPPORT;
}

static int vsock_bind(struct socket *s, const void *addr, uint32_t len)
{
	struct vsock *v = vsock_of(s);
	const struct sockaddr_vm *a = addr;
	int rc = check_addr(addr, len);

	if (rc < 0)
		return rc;
	if (v->bound)
		return -EINVAL;
	if (a->svm_cid != VMADDR_CID_ANY && a->svm_cid != vvsock_guest_cid())
		return -EADDRNOTAVAIL;
	return bind_port(v, a->svm_cid, a->svm_port);
}

static int wait_connected(struct vsock *v)
{
	uint64_t deadline = clock_monotonic_ns() + CONNECT_TIMEOUT_NS;
	int rc;

	while (v->state == VS_CONNECTING) {
		int64_t w = sched_wait_on_until(v, deadline);

		if (w < 0 && v->state == VS_CONNECTING) {
			/* Given up, as Linux does: the host forgets it too. */
			send_control(v, VIRTIO_VSOCK_OP_RST, 0);
			v->state = VS_UNCONNECTED;
			return w == -ETIMEDOUT ? -ETIMEDOUT : -EINTR;
		}
	}
	if (v->state == VS_CONNECTED)
		return 0;
	rc = v->error ? -v->error : -ECONNRESET;
	v->error = 0;
	return rc;
}

static int vsock_connect(struct socket *s, const void *addr, uint32_t len, bool nonblock)
{
	struct vsock *v = vsock_of(s);
	const struct sockaddr_vm *a = addr;
	int rc = check_addr(addr, len);

	if (rc < 0)
		return rc;
	switch (v->state) {
	case VS_CONNECTED:
		return -EISCONN;
	case VS_LISTENING:
		return -EINVAL;
	case VS_CONNECTING:
		return nonblock ? -EALREADY : wait_connected(v);
	case VS_UNCONNECTED:
		break;
	}
	if (a->svm_cid != VMADDR_CID_HOST)
		return -ENETUNREACH; /* the host is the only peer there is */
	if (!v->bound && (rc = bind_port(v, VMADDR_CID_ANY, VMADDR_PORT_ANY)) < 0)
		return rc;
	if (v->rx == NULL && (v->rx = kmalloc(VSOCK_RX_BUF)) == NULL)
		return -ENOMEM;
	v->peer_cid = VMADDR_CID_HOST;
	v->peer_port = a->svm_port;
	v->error = 0;
	v->tx_cnt = v->peer_fwd_cnt = v->peer_buf_alloc = 0;
	v->rx_in = v->rx_out = v->fwd_told = 0;
	v->state = VS_CONNECTING;
	if ((rc = send_control_wait(v, VIRTIO_VSOCK_OP_REQUEST, 0)) < 0) {
		v->state = VS_UNCONNECTED;
		return rc;
	}
	return nonblock ? -EINPROGRESS : wait_connected(v);
}

static int vsock_listen(struct socket *s, int backlog)
{
	struct vsock *v = vsock_of(s);

	if (!v->bound || (v->state != VS_UNCONNECTED && v->state != VS_LISTENING))
		return -EINVAL;
	v->backlog = backlog < 0 ? 0 : backlog > MAX_BACKLOG ? MAX_BACKLOG : backlog;
	v->state = VS_LISTENING;
	return 0;
}

static int vsock_accept(struct socket *s, struct socket **out, bool nonblock)
{
	struct vsock *v = vsock_of(s), *c;

	if (v->state != VS_LISTENING)
		return -EINVAL;
	while (v->queue_head == NULL) {
		if (nonblock)
			return -EAGAIN;
		if (sched_wait_on(v) < 0)
			return -ERESTARTSYS;
		if (v->state != VS_LISTENING)
			return -EINVAL;
	}
	c = v->queue_head;
	v->queue_head = c->queue_next;
	if (v->queue_head == NULL)
		v->queue_tail = NULL;
	v->nr_queued--;
	c->queue_next = NULL;
	*out = &c->sock;
	return 0;
}

static int vsock_getname(struct socket *s, void *addr, bool peer)
{
	struct vsock *v = vsock_of(s);
	struct sockaddr_vm *a = addr;

	memset(a, 0, sizeof(*a));
	a->svm_family = AF_VSOCK;
	if (peer) {
		if (v->state != VS_CONNECTED)
			return -ENOTCONN;
		a->svm_cid = v->peer_cid;
		a->svm_port = v->peer_port;
	} else {
		a->svm_cid = v->bound ? v->local_cid : VMADDR_CID_ANY;
		a->svm_port = v->bound ? v->local_port : VMADDR_PORT_ANY;
	}
	return (int)sizeof(*a);
}

/* Whether a send can go no further: -EPIPE, or 0 while it can. */
static int send_blocked(const struct vsock *v)
{
	if (v->wr_shut || v->peer_done_reading)
		return -EPIPE;
	return 0;
}

static int64_t vsock_send(struct socket *s, const void *buf, uint64_t len, int flags)
{
	struct vsock *v = vsock_of(s);
	uint64_t done = 0;

	if (v->state != VS_CONNECTED)
		return -ENOTCONN;
	for (;;) {
		const void *chan = v;
		int64_t rc = send_blocked(v);

		if (rc < 0)
			return done ? (int64_t)done : rc;
		while (done < len && peer_credit(v) > 0) {
			uint64_t n = len - done;
			struct virtio_vsock_hdr h = stream_header(v, VIRTIO_VSOCK_OP_RW, 0);

			if (n > peer_credit(v))
				n = peer_credit(v);
			rc = send_packet(v, &h, (const uint8_t *)buf + done, (uint32_t)n);
			if (rc == -EAGAIN) {
				chan = &vvsock_tx_chan; /* wait for a buffer, not credit */
				break;
			}
			if (rc < 0)
				return done ? (int64_t)done : rc;
			n = h.len; /* at most a packet's worth went */
			v->tx_cnt += (uint32_t)n;
			done += n;
		}
		if (done == len)
			return (int64_t)done;
		if (flags & MSG_DONTWAIT)
			return done ? (int64_t)done : -EAGAIN;
		if (sched_wait_on(chan) < 0)
			return done ? (int64_t)done : -ERESTARTSYS;
	}
}

static uint64_t copy_out(struct vsock *v, uint8_t *buf, uint64_t len, int flags, bool *fault)
{
	uint32_t avail = v->rx_in - v->rx_out, at = v->rx_out % VSOCK_RX_BUF;
	uint64_t n = len < avail ? len : avail, first = VSOCK_RX_BUF - at;

	if (first > n)
		first = n;
	if (uaccess_copy(buf, v->rx + at, first) != 0 ||
	    uaccess_copy(buf + first, v->rx, n - first) != 0) {
		*fault = true;
		return 0;
	}
	if (!(flags & MSG_PEEK)) {
		v->rx_out += (uint32_t)n;
		update_credit(v);
	}
	return n;
}

static int64_t vsock_recv(struct socket *s, void *buf, uint64_t len, int flags)
{
	struct vsock *v = vsock_of(s);
	uint64_t done = 0;
	bool fault = false;

	if (v->state != VS_CONNECTED)
		return -ENOTCONN;
	while (done < len) {
		if (v->rx_in != v->rx_out) {
			done += copy_out(v, (uint8_t *)buf + done, len - done, flags, &fault);
			if (fault)
				return done ? (int64_t)done : -EFAULT;
			if (!(flags & MSG_WAITALL) || (flags & MSG_PEEK))
				break;
			continue;
		}
		if (v->peer_done_sending || v->rd_shut)
			break;
		if (flags & MSG_DONTWAIT)
			return done ? (int64_t)done : -EAGAIN;
		if (sched_wait_on(v) < 0)
			return done ? (int64_t)done : -ERESTARTSYS;
	}
	return (int64_t)done;
}

static int vsock_shutdown(struct socket *s, int how)
{
	struct vsock *v = vsock_of(s);
	uint32_t flags = 0;

	if (v->state != VS_CONNECTED)
		return -ENOTCONN;
	if (how != SHUT_WR)
		v->rd_shut = true;
	if (how != SHUT_RD)
		v->wr_shut = true;
	if (v->rd_shut)
		flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	if (v->wr_shut)
		flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
	changed(v);
	if (v->peer_done_sending && v->peer_done_reading)
		return 0;
	return send_control_wait(v, VIRTIO_VSOCK_OP_SHUTDOWN, flags) == -EINTR ? -EINTR : 0;
}

/* Options programs set in passing (SO_REUSEADDR before a bind, buffer
 * sizes) are taken and change nothing: the buffers are fixed. */
static int vsock_setsockopt(struct socket *s, int level, int name, const void *val, uint32_t len)
{
	(void)s;
	(void)val;
	if (len < sizeof(int))
		return -EINVAL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
		case SO_KEEPALIVE:
		case SO_RCVBUF:
		case SO_SNDBUF:
		case SO_LINGER:
		case SO_RCVLOWAT:
		case SO_OOBINLINE:
		case SO_PRIORITY:
			return 0;
		}
	} else if (level == AF_VSOCK) {
		switch (name) {
		case SO_VM_SOCKETS_BUFFER_SIZE:
		case SO_VM_SOCKETS_BUFFER_MIN_SIZE:
		case SO_VM_SOCKETS_BUFFER_MAX_SIZE:
		case SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD:
		case SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW:
			return 0;
		}
	}
	return -ENOPROTOOPT;
}

static int vsock_getsockopt(struct socket *s, int level, int name, void *val, uint32_t *len)
{
	struct vsock *v = vsock_of(s);
	int out;

	if (level == AF_VSOCK &&
	    (name == SO_VM_SOCKETS_BUFFER_SIZE || name == SO_VM_SOCKETS_BUFFER_MIN_SIZE ||
	     name == SO_VM_SOCKETS_BUFFER_MAX_SIZE)) {
		uint64_t size = VSOCK_RX_BUF;

		memcpy(val, &size, sizeof(size));
		*len = sizeof(size);
		return 0;
	}
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case SO_ERROR:
		out = v->error;
		v->error = 0;
		break;
	case SO_TYPE:
		out = SOCK_STREAM;
		break;
	case SO_DOMAIN:
		out = AF_VSOCK;
		break;
	case SO_PROTOCOL:
	case SO_REUSEADDR:
	case SO_KEEPALIVE:
		out = 0;
		break;
	case SO_ACCEPTCONN:
		out = v->state == VS_LISTENING;
		break;
	case SO_RCVBUF:
	case SO_SNDBUF:
		out = VSOCK_RX_BUF;
		break;
	default:
		return -ENOPROTOOPT;
	}
	memcpy(val, &out, sizeof(out));
	*len = sizeof(out);
	return 0;
}

static unsigned int vsock_poll(struct socket *s)
{
	struct vsock *v = vsock_of(s);
	unsigned int mask = v->error ? POLLERR : 0;
	bool gone = v->peer_done_sending && v->peer_done_reading;

	switch (v->state) {
	case VS_UNCONNECTED:
		return v->error ? mask | POLLHUP | POLLOUT : 0;
	case VS_CONNECTING:
		return mask;
	case VS_LISTENING:
		return mask | (v->queue_head ? POLLIN | POLLRDNORM : 0);
	case VS_CONNECTED:
		break;
	}
	if (v->rx_in != v->rx_out || v->peer_done_sending || v->rd_shut)
		mask |= POLLIN | POLLRDNORM;
	if (v->peer_done_sending)
		mask |= POLLRDHUP;
	if (gone || (v->rd_shut && v->wr_shut))
		mask |= POLLHUP;
	/* Writable when a write would not wait: it would send, or fail. */
	if ((peer_credit(v) > 0 && vvsock_can_send_data()) || send_blocked(v) < 0)
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

static int64_t vsock_ioctl(struct socket *s, unsigned int cmd, uint64_t arg)
{
	struct vsock *v = vsock_of(s);
	int avail = (int)(v->rx_in - v->rx_out);

	if (cmd != FIONREAD)
		return -ENOTTY;
	return copy_to_user(arg, &avail, sizeof(avail));
}

static void free_vsock(struct vsock *v)
{
	if (v->bound)
		list_remove(v);
	kfree(v->rx);
	kfree(v);
}

static void vsock_release(struct socket *s)
{
	struct vsock *v = vsock_of(s);

	switch (v->state) {
	case VS_LISTENING:
		while (v->queue_head) {
			struct vsock *c = v->queue_head;

			v->queue_head = c->queue_next;
			send_control(c, VIRTIO_VSOCK_OP_RST, 0);
			free_vsock(c);
		}
		break;
	case VS_CONNECTING:
		send_control(v, VIRTIO_VSOCK_OP_RST, 0);
		break;
	case VS_CONNECTED:
		/* The host flushes what we sent, then closes its side.  With no
		 * buffer free now the stream lingers until its SHUTDOWN goes
		 * (vsock_transmit_done); a close never waits. */
		if (!(v->peer_done_sending && v->peer_done_reading) &&
		    send_control(v, VIRTIO_VSOCK_OP_SHUTDOWN,
				 VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND) ==
			    -EAGAIN) {
			v->shutdown_owed = v->closing = true;
			return;
		}
		break;
	case VS_UNCONNECTED:
		break;
	}
	free_vsock(v);
}

static const struct socket_ops vsock_ops = {
	.bind = vsock_bind,
	.connect = vsock_connect,
	.listen = vsock_listen,
	.accept = vsock_accept,
	.getname = vsock_getname,
	.send = vsock_send,
	.recv = vsock_recv,
	.shutdown = vsock_shutdown,
	.setsockopt = vsock_setsockopt,
	.getsockopt = vsock_getsockopt,
	.poll = vsock_poll,
	.ioctl = vsock_ioctl,
	.release = vsock_release,
};

int vsock_create(int type, int protocol, struct socket **out)
{
	struct vsock *v;

	if (type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0)
		return -EPROTONOSUPPORT;
	switch (vvsock_start()) {
	case 0:
		break;
	case -ENODEV:
		return -EAFNOSUPPORT;
	default:
		return -EIO;
	}
	if ((v = new_vsock()) == NULL)
		return -ENOMEM;
	*out = &v->sock;
	return 0;
}
