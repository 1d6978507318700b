/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* pthread_timedjoin_np, accept4 */
/*
 * One thread serves the queues and every host socket with poll(2); all
 * host sockets are non-blocking and the lock is never held across a wait,
 * so a reset from the vCPU thread never waits for the host.  Packets owed
 * to the guest wait in per-connection flags (and a short list of resets
 * for connections we do not know) until it offers receive buffers.
 */
#include "virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device_thread.h"
#include "log.h"
#include "vcpu_kick.h"

#define HDR_SIZE	 ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define MAX_PACKET_DATA	 (64 * 1024)
#define FIRST_LOCAL_PORT 1024u

enum conn_state {
	CONN_FREE,
	CONN_HANDSHAKE,	  /* a host client, before its "CONNECT <port>\n" */
	CONN_CONNECTING,  /* REQUEST owed or sent to the guest, no RESPONSE yet */
	CONN_ESTABLISHED, /* a stream */
};

/* What a connection owes the guest. */
enum {
	OWE_REQUEST = 1,
	OWE_RESPONSE = 2,
	OWE_CREDIT = 4,
	OWE_SHUTDOWN = 8,
	OWE_RST = 16,
};

struct vsock_conn {
	enum conn_state state;
	int fd;
	uint32_t local_port, peer_port; /* host side, guest side */
	unsigned int owe;
	bool close_after_rst;
	/* The guest's receive side, as it last said. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt; /* payload bytes sent to the guest */
	/* Ours: guest bytes not yet written to fd, a ring of VSOCK_CONN_BUF. */
	uint8_t *buf;
	uint32_t buf_head, buf_len;
	uint32_t fwd_cnt, fwd_cnt_told;
	bool host_readable, host_eof, guest_done_sending, guest_closed;
	char line[VSOCK_HANDSHAKE_MAX];
	unsigned int line_len;
	/* HANDSHAKE and CONNECTING end by then (monotonic ms; 0: none), so
	 * clients that never finish cannot hold every slot. */
	uint64_t deadline;
};

/* ---- connections ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct vsock_conn *find_conn(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state >= CONN_CONNECTING && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

static struct vsock_conn *free_slot(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == CONN_FREE)
			return &v->conns[i];
	return NULL;
}

static struct vsock_conn *new_conn(struct virtio_vsock *v, int fd)
{
	struct vsock_conn *c = free_slot(v);

	if (c != NULL)
		*c = (struct vsock_conn){
			.state = CONN_HANDSHAKE,
			.fd = fd,
			.deadline = now_ms() + v->handshake_timeout_ms,
		};
	return c;
}

static void free_conn(struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	*c = (struct vsock_conn){.state = CONN_FREE, .fd = -1};
}

/* A stream needs its receive buffer; without memory it is refused. */
static bool give_buffer(struct vsock_conn *c)
{
	c->buf = malloc(VSOCK_CONN_BUF);
	return c->buf != NULL;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight < c->peer_buf_alloc ? c->peer_buf_alloc - in_flight : 0;
}

/* Whether to read the host socket: a stream the host may still send on
 * and the guest has room for, not yet known to have nothing waiting. */
static bool wants_host_bytes(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->fd >= 0 && !c->host_eof && !c->guest_closed &&
	       peer_credit(c) > 0;
}

static void owe_reset(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	if (v->nr_resets < VSOCK_MAX_RSTS)
		v->resets[v->nr_resets++] = (struct vsock_reset){local, peer};
}

/* The connection ends: the host side closes now, the guest hears RST,
 * then it is forgotten. */
static void abort_conn(struct vsock_conn *c)
{
	if (c->state == CONN_HANDSHAKE) {
		free_conn(c);
		return;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->buf_len = 0;
	c->owe = OWE_RST;
	c->close_after_rst = true;
}

static uint32_t unused_local_port(struct virtio_vsock *v)
{
	for (;;) {
		uint32_t port = v->next_local_port++;
		bool taken = false;

		if (v->next_local_port < FIRST_LOCAL_PORT)
			v->next_local_port = FIRST_LOCAL_PORT;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !taken; i++)
			taken = v->conns[i].state >= CONN_CONNECTING &&
				v->conns[i].local_port == port;
		if (!taken)
			return port;
	}
}

/* ---- host side ---- */

/* Writes what the guest sent, as far as the host reader takes it. */
static void flush_to_host(struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	while (c->buf_len > 0) {
		uint32_t chunk = VSOCK_CONN_BUF - c->buf_head;
		ssize_t n;

		if (chunk > c->buf_len)
			chunk = c->buf_len;
		n = send(c->fd, c->buf + c->buf_head, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			abort_conn(c);
			return;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_CONN_BUF;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	/* A guest that closed has no socket left to take credit: it would
	 * answer with RST. */
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_CONN_BUF / 4 && !c->guest_closed)
		c->owe |= OWE_CREDIT;
	if (c->guest_done_sending)
		shutdown(c->fd, SHUT_WR);
	if (c->guest_closed)
		abort_conn(c); /* all delivered: the peer reads it, then EOF */
}

/* The guest asked for host port `local`: the Unix socket path_local. */
static void connect_to_host(struct virtio_vsock *v, uint32_t local, uint32_t peer,
			    const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	/* A guest past the connection limit must not reach the host service
	 * at all: it would see a connection open and close at once. */
	if (free_slot(v) == NULL ||
	    (size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%" PRIu32, v->path, local) >=
		    sizeof(addr.sun_path)) {
		owe_reset(v, local, peer);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    (c = new_conn(v, fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		owe_reset(v, local, peer);
		return;
	}
	c->local_port = local;
	c->peer_port = peer;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (!give_buffer(c)) {
		free_conn(c);
		owe_reset(v, local, peer);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->owe = OWE_RESPONSE;
}

/* Reads a host client's "CONNECT <port>\n" a byte at a time, so nothing
 * it sends after the line is taken before the stream exists. */
static void read_handshake(struct virtio_vsock *v, struct vsock_conn *c)
{
	for (;;) {
		char ch;
		ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
		unsigned int port;
		char tail;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || c->line_len + 1 >= sizeof(c->line)) {
			free_conn(c);
			return;
		}
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = '\0';
		if (sscanf(c->line, "CONNECT %u%c", &port, &tail) != 1 || !give_buffer(c)) {
			free_conn(c);
			return;
		}
		c->peer_port = port;
		c->local_port = unused_local_port(v);
		c->state = CONN_CONNECTING;
		c->owe = OWE_REQUEST;
		c->deadline = now_ms() + v->handshake_timeout_ms; /* for the guest's answer */
		return;
	}
}

static void accept_clients(struct virtio_vsock *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (new_conn(v, fd) == NULL)
			close(fd); /* too many connections: the client sees EOF */
	}
}

/* ---- packets from the guest (transmit queue) ---- */

/* Copies len bytes at offset `from` of the chain's readable bytes. */
static bool chain_read(const struct virtq_chain *ch, uint32_t from, void *dst, uint32_t len)
{
	uint8_t *out = dst;

	for (unsigned int i = 0; i < ch->count && len > 0; i++) {
		const struct virtq_buffer *b = &ch->buf[i];
		uint32_t take;

		if (b->device_writes)
			break;
		if (from >= b->len) {
			from -= b->len;
			continue;
		}
		take = b->len - from < len ? b->len - from : len;
		memcpy(out, b->host + from, take);
		out += take;
		len -= take;
		from = 0;
	}
	return len == 0;
}

/* Takes the payload into the connection's ring (the credit guarantees
 * room; a guest that ignores it loses the connection). */
static void take_payload(struct vsock_conn *c, const struct virtq_chain *ch, uint32_t len)
{
	uint32_t tail, first;

	if (c->state != CONN_ESTABLISHED || c->guest_done_sending ||
	    len > VSOCK_CONN_BUF - c->buf_len) {
		abort_conn(c);
		return;
	}
	tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF;
	first = VSOCK_CONN_BUF - tail < len ? VSOCK_CONN_BUF - tail : len;
	chain_read(ch, HDR_SIZE, c->buf + tail, first);
	chain_read(ch, HDR_SIZE + first, c->buf, len - first);
	c->buf_len += len;
	flush_to_host(c);
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (c->fd < 0)
		return;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		c->guest_done_sending = true;
		if (c->buf_len == 0)
			shutdown(c->fd, SHUT_WR);
	}
	/* Both directions: the guest closed and waits for our RST, which
	 * comes once what it sent has reached the host reader. */
	if ((flags & VIRTIO_VSOCK_SHUTDOWN_RCV) && (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		c->guest_closed = true;
		/* A credit update still owed would reach a guest that has
		 * forgotten the stream, and its RST would drop what is left
		 * for the host reader. */
		c->owe &= ~(unsigned int)OWE_CREDIT;
		if (c->buf_len == 0)
			abort_conn(c);
	}
}

static void host_accepted(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->local_port);

	if (c->state != CONN_CONNECTING || c->fd < 0)
		return;
	c->state = CONN_ESTABLISHED;
	c->deadline = 0;
	/* A few bytes into an empty socket buffer: a short write means the
	 * client is gone. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		abort_conn(c);
}

static void guest_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	uint32_t local, peer, len;
	struct vsock_conn *c;
	uint16_t op;

	if (!chain_read(ch, 0, &h, HDR_SIZE))
		return;
	len = le32toh(h.len);
	op = le16toh(h.op);
	local = le32toh(h.dst_port);
	peer = le32toh(h.src_port);
	if (le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM || le64toh(h.src_cid) != v->guest_cid ||
	    le64toh(h.dst_cid) != VSOCK_HOST_CID || len > ch->readable_bytes - HDR_SIZE) {
		if (op != VIRTIO_VSOCK_OP_RST)
			owe_reset(v, local, peer);
		return;
	}
	c = find_conn(v, local, peer);
	if (c == NULL) {
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			connect_to_host(v, local, peer, &h);
		else if (op != VIRTIO_VSOCK_OP_RST)
			owe_reset(v, local, peer);
		return;
	}
	c->peer_buf_alloc = le32toh(h.buf_alloc);
	c->peer_fwd_cnt = le32toh(h.fwd_cnt);
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		host_accepted(c);
		break;
	case VIRTIO_VSOCK_OP_RW:
		take_payload(c, ch, len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= OWE_CREDIT;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, le32toh(h.flags));
		break;
	case VIRTIO_VSOCK_OP_RST:
		/* A guest that closed answers what we still send with RST;
		 * what it sent before goes to the host reader first. */
		if (c->guest_closed && c->buf_len > 0 && c->fd >= 0) {
			c->owe = 0;
			break;
		}
		free_conn(c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break; /* the credit above is all it says */
	default:       /* a second REQUEST, or nonsense: the stream is broken */
		abort_conn(c);
		break;
	}
}

/* ---- packets to the guest (receive queue) ---- */

/* Called with the lock held; the VM ends at the next kick. */
static void fail(struct virtio_vsock *v, const char *why)
{
	v->failure = why;
	v->live = false;
	vcpu_kick();
}

static void drain_transmit(struct virtio_vsock *v)
{
	struct virtq_chain chain;
	const char *why;
	enum virtq_pop_result r;
	bool used = false;

	while (v->live && (r = virtq_device_pop(&v->tx, &chain, &why)) == VIRTQ_CHAIN) {
		guest_packet(v, &chain);
		virtq_device_push(&v->tx, chain.head, 0);
		used = true;
	}
	if (v->live && r == VIRTQ_MALFORMED)
		fail(v, why);
	if (used)
		device_interrupt(&v->mmio, v->irq_fd);
}

/* Scatters len bytes into the chain's writable buffers from offset `to`. */
static bool chain_write(const struct virtq_chain *ch, uint32_t to, const void *src, uint32_t len)
{
	const uint8_t *in = src;

	for (unsigned int i = 0; i < ch->count && len > 0; i++) {
		const struct virtq_buffer *b = &ch->buf[i];
		uint32_t put;

		if (!b->device_writes)
			continue;
		if (to >= b->len) {
			to -= b->len;
			continue;
		}
		put = b->len - to < len ? b->len - to : len;
		memcpy(b->host + to, in, put);
		in += put;
		len -= put;
		to = 0;
	}
	return len == 0;
}

static struct virtio_vsock_hdr header(const struct virtio_vsock *v, uint32_t local, uint32_t peer,
				      uint16_t op)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID),
		.dst_cid = htole64(v->guest_cid),
		.src_port = htole32(local),
		.dst_port = htole32(peer),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op),
	};
}

static struct virtio_vsock_hdr conn_header(const struct virtio_vsock *v, struct vsock_conn *c,
					   uint16_t op)
{
	struct virtio_vsock_hdr h = header(v, c->local_port, c->peer_port, op);

	h.buf_alloc = htole32(VSOCK_CONN_BUF);
	h.fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_cnt_told = c->fwd_cnt;
	return h;
}

/* The control packet c owes first, as an op; 0 when none. */
static uint16_t owed_op(struct vsock_conn *c, uint32_t *flags)
{
	static const struct {
		unsigned int bit;
		uint16_t op;
	} order[] = {
		{OWE_RST, VIRTIO_VSOCK_OP_RST},
		{OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST},
		{OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE},
		{OWE_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN},
		{OWE_CREDIT, VIRTIO_VSOCK_OP_CREDIT_UPDATE},
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (c->owe & order[i].bit) {
			c->owe &= ~order[i].bit;
			if (order[i].bit == OWE_RST)
				c->owe = 0;
			*flags = order[i].bit == OWE_SHUTDOWN ? VIRTIO_VSOCK_SHUTDOWN_SEND : 0;
			return order[i].op;
		}
	return 0;
}

/* One control packet into the chain: true when one was owed. */
static bool put_control(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;

	if (v->nr_resets > 0) {
		const struct vsock_reset *r = &v->resets[--v->nr_resets];

		h = header(v, r->local_port, r->peer_port, VIRTIO_VSOCK_OP_RST);
		chain_write(ch, 0, &h, HDR_SIZE);
		return true;
	}
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];
		uint32_t flags = 0;
		uint16_t op;

		if (c->state < CONN_CONNECTING || c->owe == 0)
			continue;
		op = owed_op(c, &flags);
		h = conn_header(v, c, op);
		h.flags = htole32(flags);
		chain_write(ch, 0, &h, HDR_SIZE);
		if (op == VIRTIO_VSOCK_OP_RST && c->close_after_rst)
			free_conn(c);
		return true;
	}
	return false;
}

/* Bytes from one readable host socket into the chain; 0 when there was
 * nothing to send (the chain stays ours). */
static uint32_t put_data(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];
		struct iovec iov[VIRTQ_MAX_CHAIN];
		uint32_t room = ch->writable_bytes - HDR_SIZE, skip = HDR_SIZE;
		struct virtio_vsock_hdr h;
		unsigned int n = 0;
		ssize_t got;

		if (!c->host_readable || !wants_host_bytes(c))
			continue;
		if (room > peer_credit(c))
			room = peer_credit(c);
		if (room > MAX_PACKET_DATA)
			room = MAX_PACKET_DATA;
		for (unsigned int b = 0; b < ch->count && room > 0; b++) {
			const struct virtq_buffer *buf = &ch->buf[b];
			uint32_t len;

			if (!buf->device_writes || skip >= buf->len) {
				skip -= buf->device_writes ? buf->len : 0;
				continue;
			}
			len = buf->len - skip < room ? buf->len - skip : room;
			iov[n++] = (struct iovec){buf->host + skip, len};
			room -= len;
			skip = 0;
		}
		if (n == 0)
			continue; /* no room in this buffer: not an end of file */
		got = readv(c->fd, iov, (int)n);
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			c->host_readable = false;
			continue;
		}
		if (got <= 0) {
			c->host_eof = true;
			if (got < 0)
				abort_conn(c);
			else
				c->owe |= OWE_SHUTDOWN;
			continue;
		}
		h = conn_header(v, c, VIRTIO_VSOCK_OP_RW);
		h.len = htole32((uint32_t)got);
		chain_write(ch, 0, &h, HDR_SIZE);
		c->tx_cnt += (uint32_t)got;
		return HDR_SIZE + (uint32_t)got;
	}
	return 0;
}

/* Fills receive buffers while something is owed and the guest has them.
 * A buffer taken for data that then was not there (the reader had
 * nothing after all) is held for the next packet: a used buffer must
 * carry one. */
static void deliver(struct virtio_vsock *v)
{
	const char *why;
	bool used = false;

	/* Nothing before an owed reset: a stream the guest took up first
	 * would be ended by the reset that follows. */
	if (v->reset_owed && v->has_event_queue)
		return;
	while (v->live) {
		uint32_t written;

		if (!v->rx_held) {
			enum virtq_pop_result r = virtq_device_pop(&v->rx, &v->rx_chain, &why);

			if (r == VIRTQ_MALFORMED)
				fail(v, why);
			if (r != VIRTQ_CHAIN)
				break;
			if (v->rx_chain.writable_bytes < HDR_SIZE) {
				fail(v, "vsock receive buffer shorter than a packet header");
				break;
			}
			v->rx_held = true;
		}
		written = put_control(v, &v->rx_chain) ? HDR_SIZE : put_data(v, &v->rx_chain);
		/* A reader's end of file or error leaves a SHUTDOWN or RST owed. */
		if (written == 0 && put_control(v, &v->rx_chain))
			written = HDR_SIZE;
		if (written == 0)
			break;
		virtq_device_complete(&v->rx, &v->rx_chain, written);
		v->rx_held = false;
		used = true;
	}
	if (used)
		device_interrupt(&v->mmio, v->irq_fd);
}

/* The owed TRANSPORT_RESET, once the guest has an event buffer for it. */
static void deliver_event(struct virtio_vsock *v)
{
	struct virtio_vsock_event event = {.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};
	struct virtq_chain chain;
	const char *why;
	enum virtq_pop_result r;

	if (!v->reset_owed || !v->live || !v->has_event_queue)
		return;
	r = virtq_device_pop(&v->event, &chain, &why);
	if (r == VIRTQ_MALFORMED)
		fail(v, why);
	if (r != VIRTQ_CHAIN)
		return;
	if (chain.writable_bytes < sizeof(event)) {
		fail(v, "vsock event buffer shorter than an event");
		return;
	}
	chain_write(&chain, 0, &event, sizeof(event));
	virtq_device_complete(&v->event, &chain, sizeof(event));
	v->reset_owed = false;
	log_verbose("vsock: transport reset sent");
	device_interrupt(&v->mmio, v->irq_fd);
}

void virtio_vsock_transport_reset(struct virtio_vsock *v, uint32_t first_port)
{
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	v->reset_owed = true;
	if (first_port > v->next_local_port)
		v->next_local_port = first_port;
	log_verbose("vsock: transport reset owed to the guest%s",
		    !v->live		 ? ", once its driver starts the device"
		    : v->has_event_queue ? ""
					 : ", which has no event queue");
	pthread_mutex_unlock(&v->lock);
	if (write(v->notify_fd, &one, sizeof(one)) < 0)
		return; /* counter full: the thread is awake anyway */
}

uint32_t virtio_vsock_next_port(struct virtio_vsock *v)
{
	uint32_t port;

	pthread_mutex_lock(&v->lock);
	port = v->next_local_port;
	pthread_mutex_unlock(&v->lock);
	return port;
}

/* ---- the thread ---- */

static void close_all(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE)
			free_conn(&v->conns[i]);
	v->nr_resets = 0;
}

static int vsock_start(void *dev, const struct virtio_mmio_queue *queues, unsigned int nr,
		       const char **why)
{
	struct virtio_vsock *v = dev;
	int rc = -1;
	uint64_t one = 1;

	(void)nr;
	pthread_mutex_lock(&v->lock);
	if (!queues[VSOCK_QUEUE_RX].ready || !queues[VSOCK_QUEUE_TX].ready) {
		*why = "vsock queue not ready at DRIVER_OK";
	} else if (virtq_device_init(&v->rx, queues[VSOCK_QUEUE_RX].num,
				     queues[VSOCK_QUEUE_RX].desc, queues[VSOCK_QUEUE_RX].avail,
				     queues[VSOCK_QUEUE_RX].used, device_access_guest,
				     (void *)v->mem, why) == 0 &&
		   virtq_device_init(&v->tx, queues[VSOCK_QUEUE_TX].num,
				     queues[VSOCK_QUEUE_TX].desc, queues[VSOCK_QUEUE_TX].avail,
				     queues[VSOCK_QUEUE_TX].used, device_access_guest,
				     (void *)v->mem, why) == 0) {
		v->live = true;
		v->rx_held = false;
		rc = 0;
		/* Older drivers may leave it out; only a transport reset needs it. */
		v->has_event_queue =
			queues[VSOCK_QUEUE_EVENT].ready &&
			virtq_device_init(&v->event, queues[VSOCK_QUEUE_EVENT].num,
					  queues[VSOCK_QUEUE_EVENT].desc,
					  queues[VSOCK_QUEUE_EVENT].avail,
					  queues[VSOCK_QUEUE_EVENT].used, device_access_guest,
					  (void *)v->mem, why) == 0;
	}
	pthread_mutex_unlock(&v->lock);
	if (rc == 0 && write(v->notify_fd, &one, sizeof(one)) < 0)
		return 0; /* counter full: the thread is awake anyway */
	return rc;
}

/* A reset ends every stream: host clients see their socket close. */
static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;

	pthread_mutex_lock(&v->lock);
	v->live = false;
	v->rx_held = false;
	v->reset_owed = false;
	close_all(v);
	pthread_mutex_unlock(&v->lock);
}

static const struct virtio_mmio_device_ops vsock_ops = {
	.start = vsock_start,
	.reset = vsock_reset,
};

/* The fds to wait on; conn_of[i] is the connection behind fds[i] (or -1). */
static nfds_t wait_set(struct virtio_vsock *v, struct pollfd *fds, int *conn_of)
{
	nfds_t n = 0;

	fds[n] = (struct pollfd){.fd = v->stop_fd, .events = POLLIN};
	conn_of[n++] = -1;
	fds[n] = (struct pollfd){.fd = v->notify_fd, .events = POLLIN};
	conn_of[n++] = -1;
	fds[n] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
	conn_of[n++] = -1;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &v->conns[i];
		short events = 0;

		if (c->state == CONN_FREE || c->fd < 0)
			continue;
		if (c->state == CONN_HANDSHAKE || (!c->host_readable && wants_host_bytes(c)))
			events |= POLLIN;
		if (c->buf_len > 0)
			events |= POLLOUT;
		/* A hung-up socket reports POLLHUP whatever we ask: wait on it
		 * only when there is something to do with it, or to notice a
		 * client leaving before the guest answered. */
		if (events == 0 && c->state != CONN_CONNECTING)
			continue;
		fds[n] = (struct pollfd){.fd = c->fd, .events = events};
		conn_of[n++] = (int)i;
	}
	return n;
}

static void host_event(struct virtio_vsock *v, struct vsock_conn *c, short revents)
{
	if (c->state == CONN_HANDSHAKE) {
		if (revents)
			read_handshake(v, c);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		if (revents & (POLLHUP | POLLERR))
			abort_conn(c); /* the client left before the guest answered */
		return;
	}
	if (revents & POLLOUT)
		flush_to_host(c);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		c->host_readable = true;
}

/* Ends the handshakes and connects that ran out of time; returns the
 * poll timeout until the next deadline (-1: none). */
static int expire(struct virtio_vsock *v)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->deadline == 0 || (c->state != CONN_HANDSHAKE && c->state != CONN_CONNECTING))
			continue;
		if (c->deadline <= now) {
			c->deadline = 0;
			abort_conn(c); /* the client sees EOF; a guest asked gets RST */
		} else if (c->deadline < next) {
			next = c->deadline;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

/* The rings are looked at every VSOCK_RECHECK_MS as well as on kicks: a
 * kick was seen lost under nested KVM on QEMU TCG (virtio_console.c). */
#define VSOCK_RECHECK_MS 50

static void *vsock_thread(void *arg)
{
	struct virtio_vsock *v = arg;
	struct pollfd fds[3 + VSOCK_MAX_CONNS];
	int conn_of[3 + VSOCK_MAX_CONNS];

	for (;;) {
		nfds_t n;
		int timeout;

		device_pause_point(&v->pause);
		pthread_mutex_lock(&v->lock);
		deliver_event(v);
		if (v->live)
			drain_transmit(v);
		timeout = expire(v);
		deliver(v);
		n = wait_set(v, fds, conn_of);
		if (v->live && (timeout < 0 || timeout > VSOCK_RECHECK_MS))
			timeout = VSOCK_RECHECK_MS;
		pthread_mutex_unlock(&v->lock);
		if (poll(fds, n, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			device_drain_eventfd(v->notify_fd);
		pthread_mutex_lock(&v->lock);
		if (fds[2].revents)
			accept_clients(v);
		for (nfds_t i = 3; i < n; i++)
			if (fds[i].revents && v->conns[conn_of[i]].fd == fds[i].fd)
				host_event(v, &v->conns[conn_of[i]], fds[i].revents);
		pthread_mutex_unlock(&v->lock);
	}
	return NULL;
}

/* ---- opening and closing ---- */

static int listen_at(struct virtio_vsock *v, const char *path, int given_fd, char *err,
		     size_t err_size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int flags;

	/* Room for "_<port>" after it, for the guest's connections. */
	if (strlen(path) >= VSOCK_PATH_MAX - 11 || strlen(path) == 0) {
		snprintf(err, err_size, "--vsock %s: path too long (at most %d bytes)", path,
			 VSOCK_PATH_MAX - 12);
		return -1;
	}
	strcpy(v->path, path);
	if (given_fd >= 0) {
		v->listen_fd = given_fd;
		flags = fcntl(given_fd, F_GETFL);
		if (flags < 0 || fcntl(given_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
			snprintf(err, err_size, "--vsock %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	strcpy(addr.sun_path, path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(err, err_size, "--vsock %s: %s", path, strerror(errno));
		/* Not ours: close must not remove what is there. */
		if (v->listen_fd >= 0)
			close(v->listen_fd);
		v->listen_fd = -1;
		return -1;
	}
	if (listen(v->listen_fd, 64) < 0) {
		snprintf(err, err_size, "--vsock %s: listen: %s", path, strerror(errno));
		unlink(path);
		close(v->listen_fd);
		v->listen_fd = -1;
		return -1;
	}
	v->bound_path = true;
	return 0;
}

int virtio_vsock_open(struct virtio_vsock *v, const struct guest_memory *mem, uint64_t gpa,
		      const char *path, int listen_fd, uint64_t guest_cid, char *err,
		      size_t err_size)
{
	*v = (struct virtio_vsock){
		.opened = true, .listen_fd = -1, .notify_fd = -1, .irq_fd = -1, .stop_fd = -1};
	pthread_mutex_init(&v->lock, NULL);
	device_pause_init(&v->pause);
	v->mem = mem;
	v->guest_cid = guest_cid;
	v->next_local_port = FIRST_LOCAL_PORT;
	v->handshake_timeout_ms = VSOCK_HANDSHAKE_TIMEOUT_MS;
	v->config.guest_cid = htole64(guest_cid);
	virtio_mmio_init(&v->mmio, gpa, VIRTIO_ID_VSOCK, 0, 3, &vsock_ops, v);
	virtio_mmio_set_config(&v->mmio, &v->config, sizeof(v->config));
	v->conns = calloc(VSOCK_MAX_CONNS, sizeof(*v->conns));
	if (v->conns == NULL) {
		snprintf(err, err_size, "out of memory for vsock connections");
		return -1;
	}
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	if (listen_at(v, path, listen_fd, err, err_size) < 0)
		return -1;
	if (device_eventfds((int *const[]){&v->notify_fd, &v->irq_fd, &v->stop_fd}, 3, "vsock", err,
			    err_size) < 0 ||
	    device_thread_start(&v->thread, vsock_thread, v, SANDBOX_VSOCK, err, err_size) < 0)
		return -1;
	v->thread_started = true;
	return 0;
}

const char *virtio_vsock_failure(struct virtio_vsock *v)
{
	const char *why;

	pthread_mutex_lock(&v->lock);
	why = v->failure;
	pthread_mutex_unlock(&v->lock);
	return why;
}

void virtio_vsock_close(struct virtio_vsock *v)
{
	uint64_t one = 1;

	if (!v->opened)
		return;
	if (v->thread_started && write(v->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(v->thread, NULL);
	v->thread_started = false;
	if (v->conns != NULL)
		close_all(v);
	free(v->conns);
	v->conns = NULL;
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->bound_path)
		unlinkat(AT_FDCWD, v->path, 0);
	if (v->notify_fd >= 0)
		close(v->notify_fd);
	if (v->irq_fd >= 0)
		close(v->irq_fd);
	if (v->stop_fd >= 0)
		close(v->stop_fd);
	v->listen_fd = v->notify_fd = v->irq_fd = v->stop_fd = -1;
	pthread_mutex_destroy(&v->lock);
	device_pause_destroy(&v->pause);
	v->opened = false;
}
