/* SPDX-License-Identifier: MIT */
/*
 * The virtio-vsock device (vmm/virtio_vsock.c) between a hostile guest
 * and host peers, on real Unix sockets.  The device is opened and closed
 * as lispvm does, started through its virtio-mmio registers, and run
 * without its thread: after each step the harness runs the thread's loop
 * body (twice, with a poll that does not wait), so an input always does
 * the same thing.
 *
 * An input is a script of steps: a packet on the transmit queue (any op,
 * ports, CIDs, type, length, credit and flags, its bytes split over up to
 * three descriptors, maybe with a writable one after); a receive or
 * event buffer of any length; a host client connecting to the VM's
 * socket, writing ("CONNECT <port>\n" or any bytes), reading, shutting
 * down or closing; a host service (PATH_5000) accepting what the guest
 * connected to it; a transport reset; a register write or read; a raw
 * descriptor or ring entry on any queue; a store anywhere.
 *
 * Checked besides memory safety: every packet the device hands the guest
 * fits the buffer it was given and is well formed (host CID to guest CID,
 * a stream, a known op, its length what the used ring says), connection
 * buffers stay within their bounds, and owed resets stay bounded.
 */
#define device_thread_start(thread, fn, arg, ...) fuzz_no_thread(thread, fn, arg)
#include "virtio_vsock.c"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <sys/eventfd.h>

#include <lispvm/abi.h>

#include "fuzz_guest_memory.h"
#include "fuzz_ring.h"

#define MAX_STEPS    64
#define MAX_PEERS    8
#define GUEST_CID    3
#define SERVICE_PORT 5000
#define RX_SIZE	     8
#define TX_SIZE	     16
#define EV_SIZE	     4
#define RX_RING	     0x0000ull
#define TX_RING	     0x0400ull
#define EV_RING	     0x0800ull
#define EV_BUFS	     0x0c00ull /* EV_SIZE events */
#define RX_BUFS	     0x1000ull /* RX_SIZE buffers of RX_BUF */
#define RX_BUF	     0x800u
#define TX_BUFS	     0x6000ull /* TX_SLOTS packets of TX_SLOT */
#define TX_SLOTS     4
#define TX_SLOT	     0x2800u
#define TX_DATA_MAX  0x2000u

static struct fuzz_guest guest;
static struct virtio_vsock v;
static struct fuzz_ring rx, tx, ev;
static char dir[64], path[96];
static int service_fd;

/* The guest's side of the receive queue, as far as it is known. */
static struct {
	bool posted[RX_SIZE];
	uint32_t len[RX_SIZE];
	uint16_t used_seen;
	bool unknown; /* raw descriptors or stores: no more checks on it */
} rxq;

static int peers[MAX_PEERS];
static unsigned int nr_peers, tx_slot, ev_next;

/* ---- device_thread.c, without the thread ---- */

int fuzz_no_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	(void)thread;
	(void)fn;
	(void)arg;
	return 0;
}

int device_eventfds(int *const *fds, unsigned int n, const char *what, char *err, size_t err_size)
{
	(void)what;
	(void)err;
	(void)err_size;
	for (unsigned int i = 0; i < n; i++)
		if ((*fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			fuzz_fail("eventfd");
	return 0;
}

void device_interrupt(struct virtio_mmio *m, int irq_fd)
{
	uint64_t one = 1;

	virtio_mmio_note_used(m);
	if (write(irq_fd, &one, sizeof(one)) < 0)
		return;
}

void device_drain_eventfd(int fd)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return;
}

void *device_access_guest(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	return guest_memory_access(ctx, addr, len, write ? GUEST_WRITE : GUEST_READ);
}

void device_pause_init(struct device_pause *p)
{
	(void)p;
}

void device_pause_destroy(struct device_pause *p)
{
	(void)p;
}

void device_pause_point(struct device_pause *p)
{
	(void)p;
}

/* ---- the harness ---- */

static void remove_dir(void)
{
	char service[128];

	snprintf(service, sizeof(service), "%s_%d", path, SERVICE_PORT);
	unlink(service);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	(void)argc;
	(void)argv;
	fuzz_guest_init(&guest);
	snprintf(dir, sizeof(dir), "/tmp/lispvm-fuzz-vsock-XXXXXX");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp");
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%d", path, SERVICE_PORT);
	service_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (service_fd < 0 || bind(service_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(service_fd, 64) < 0)
		fuzz_fail("service socket");
	atexit(remove_dir);
	rx = fuzz_ring_at(RX_RING, RX_SIZE);
	tx = fuzz_ring_at(TX_RING, TX_SIZE);
	ev = fuzz_ring_at(EV_RING, EV_SIZE);
	return 0;
}

static uint32_t reg(uint64_t off, bool write, uint32_t val)
{
	const char *why;

	virtio_mmio_access(&v.mmio, LISPVM_VIRTIO_MMIO_BASE + off, (uint8_t *)&val, 4, write, &why);
	return val;
}

static void give_queue(unsigned int index, const struct fuzz_ring *r)
{
	reg(VIRTIO_MMIO_QUEUE_SEL, true, index);
	reg(VIRTIO_MMIO_QUEUE_NUM, true, r->size);
	reg(VIRTIO_MMIO_QUEUE_DESC_LOW, true, (uint32_t)r->desc);
	reg(VIRTIO_MMIO_QUEUE_AVAIL_LOW, true, (uint32_t)r->avail);
	reg(VIRTIO_MMIO_QUEUE_USED_LOW, true, (uint32_t)r->used);
	reg(VIRTIO_MMIO_QUEUE_READY, true, 1);
}

/* As the guest's driver starts the device (with or without its event
 * queue). */
static void start_driver(bool event_queue)
{
	reg(VIRTIO_MMIO_STATUS, true, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, true, 1);
	reg(VIRTIO_MMIO_DRIVER_FEATURES, true, 1u << (VIRTIO_F_VERSION_1 - 32));
	reg(VIRTIO_MMIO_STATUS, true,
	    reg(VIRTIO_MMIO_STATUS, false, 0) | VIRTIO_CONFIG_S_FEATURES_OK);
	give_queue(VSOCK_QUEUE_RX, &rx);
	give_queue(VSOCK_QUEUE_TX, &tx);
	if (event_queue)
		give_queue(VSOCK_QUEUE_EVENT, &ev);
	reg(VIRTIO_MMIO_STATUS, true,
	    reg(VIRTIO_MMIO_STATUS, false, 0) | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* The packets the device gave the guest since the last look (listed
 * with FUZZ_VERBOSE set, for writing inputs by hand). */
static void check_received(void)
{
	static int verbose = -1;
	uint16_t idx = fuzz_ring_used_idx(&guest, &rx);

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	for (; rxq.used_seen != idx; rxq.used_seen++) {
		struct vring_used_elem e = fuzz_ring_used(&guest, &rx, rxq.used_seen);
		struct virtio_vsock_hdr h;
		uint16_t op;

		if (rxq.unknown)
			continue;
		if (e.id >= RX_SIZE || !rxq.posted[e.id] || e.len < HDR_SIZE ||
		    e.len > rxq.len[e.id])
			fuzz_fail("a receive buffer used beyond its length");
		rxq.posted[e.id] = false;
		memcpy(&h, fuzz_guest_at(&guest, RX_BUFS + e.id * RX_BUF, HDR_SIZE), HDR_SIZE);
		op = le16toh(h.op);
		if (verbose)
			fprintf(stderr, "to the guest: op %u, %u -> %u, %u bytes, flags %u\n", op,
				le32toh(h.src_port), le32toh(h.dst_port), le32toh(h.len),
				le32toh(h.flags));
		if (le64toh(h.src_cid) != VSOCK_HOST_CID || le64toh(h.dst_cid) != GUEST_CID ||
		    le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM || op == VIRTIO_VSOCK_OP_INVALID ||
		    op > VIRTIO_VSOCK_OP_CREDIT_REQUEST || le32toh(h.len) != e.len - HDR_SIZE)
			fuzz_fail("a malformed packet to the guest");
	}
}

static void check_device(void)
{
	if (v.nr_resets > VSOCK_MAX_RSTS)
		fuzz_fail("owed resets");
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &v.conns[i];

		if (c->state == CONN_FREE)
			continue;
		if (c->buf_len > VSOCK_CONN_BUF || c->buf_head >= VSOCK_CONN_BUF ||
		    (c->buf == NULL && (c->buf_len > 0 || c->state >= CONN_CONNECTING)))
			fuzz_fail("a connection's buffer");
	}
	check_received();
}

/* One turn of vsock_thread's loop, with a poll that does not wait. */
static void device_turn(void)
{
	struct pollfd fds[3 + VSOCK_MAX_CONNS];
	int conn_of[3 + VSOCK_MAX_CONNS];
	nfds_t n;

	deliver_event(&v);
	if (v.live)
		drain_transmit(&v);
	expire(&v);
	deliver(&v);
	n = wait_set(&v, fds, conn_of);
	if (poll(fds, n, 0) > 0) {
		if (fds[1].revents)
			device_drain_eventfd(v.notify_fd);
		if (fds[2].revents)
			accept_clients(&v);
		for (nfds_t i = 3; i < n; i++)
			if (fds[i].revents && v.conns[conn_of[i]].fd == fds[i].fd)
				host_event(&v, &v.conns[conn_of[i]], fds[i].revents);
	}
}

static void run_device(void)
{
	device_turn();
	device_turn();
	check_device();
}

static uint32_t host_port(struct fuzz_input *in)
{
	uint8_t pick = fuzz_u8(in) % 8;

	if (pick < 4)
		return FIRST_LOCAL_PORT + pick; /* the host clients' streams */
	return pick == 4 ? SERVICE_PORT : pick == 5 ? 6000 : fuzz_u32(in);
}

static uint32_t guest_port(struct fuzz_input *in)
{
	uint8_t pick = fuzz_u8(in) % 3;

	return pick < 2 ? 1234 + pick : fuzz_u32(in);
}

static void send_packet(struct fuzz_input *in)
{
	uint8_t how = fuzz_u8(in);
	uint64_t at = TX_BUFS + (uint64_t)tx_slot * TX_SLOT;
	uint16_t head = (uint16_t)(tx_slot * 4), d = head;
	struct virtio_vsock_hdr h = {0};
	const uint8_t *payload;
	size_t n = fuzz_take(in, fuzz_u16(in) % TX_DATA_MAX, &payload);
	uint32_t total = HDR_SIZE + (uint32_t)n, cuts[3] = {total, total, total};

	h.src_cid = htole64(how & 1 ? fuzz_u64(in) : GUEST_CID);
	h.dst_cid = htole64(how & 2 ? fuzz_u64(in) : VSOCK_HOST_CID);
	h.src_port = htole32(guest_port(in));
	h.dst_port = htole32(host_port(in));
	h.len = htole32(how & 4 ? fuzz_u32(in) : (uint32_t)n);
	h.type = htole16(how & 8 ? fuzz_u16(in) : VIRTIO_VSOCK_TYPE_STREAM);
	h.op = htole16(fuzz_u8(in) % 8);
	h.flags = htole32(fuzz_u8(in));
	h.buf_alloc = htole32(how & 16 ? fuzz_u32(in) : VSOCK_CONN_BUF);
	h.fwd_cnt = htole32(fuzz_u32(in));
	fuzz_guest_put(&guest, at, &h, HDR_SIZE);
	fuzz_guest_put(&guest, at + HDR_SIZE, payload, n);
	if (how & 32) { /* three descriptors, cut anywhere */
		cuts[0] = fuzz_u16(in) % (total + 1);
		cuts[1] = cuts[0] + fuzz_u16(in) % (total - cuts[0] + 1);
	}
	for (unsigned int i = 0, from = 0; i < 3 && from < total; i++) {
		bool last = cuts[i] == total && !(how & 64);

		if (cuts[i] == from)
			continue;
		fuzz_ring_desc(&guest, &tx, d, at + from, cuts[i] - from,
			       last ? 0 : VRING_DESC_F_NEXT, (uint16_t)(d + 1));
		d++;
		from = cuts[i];
	}
	if (how & 64) /* a writable buffer after it, as no driver sends */
		fuzz_ring_desc(&guest, &tx, d, at + TX_SLOT - 16, 16, VRING_DESC_F_WRITE, 0);
	fuzz_ring_offer(&guest, &tx, head);
	tx_slot = (tx_slot + 1) % TX_SLOTS;
}

static void give_rx_buffer(struct fuzz_input *in)
{
	static const uint32_t lengths[] = {HDR_SIZE - 1, HDR_SIZE, HDR_SIZE + 1, 64, RX_BUF};
	uint8_t pick = fuzz_u8(in) % 6;
	uint32_t len = pick < 5 ? lengths[pick] : fuzz_u32(in);
	uint16_t i = 0;

	while (i < RX_SIZE && rxq.posted[i])
		i++;
	if (i == RX_SIZE)
		return;
	fuzz_ring_desc(&guest, &rx, i, RX_BUFS + i * RX_BUF, len, VRING_DESC_F_WRITE, 0);
	fuzz_ring_offer(&guest, &rx, i);
	rxq.posted[i] = true;
	rxq.len[i] = len;
}

static void give_event_buffer(struct fuzz_input *in)
{
	uint32_t len = fuzz_u8(in) & 1 ? sizeof(struct virtio_vsock_event) : fuzz_u8(in);
	uint16_t i = (uint16_t)(ev_next++ % EV_SIZE);

	fuzz_ring_desc(&guest, &ev, i, EV_BUFS + i * 8, len, VRING_DESC_F_WRITE, 0);
	fuzz_ring_offer(&guest, &ev, i);
}

static void add_peer(int fd)
{
	if (fd < 0)
		return;
	if (nr_peers == MAX_PEERS) {
		close(fd);
		return;
	}
	peers[nr_peers++] = fd;
}

static void client_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		fd = -1;
	}
	add_peer(fd);
}

static void peer_step(struct fuzz_input *in, uint8_t what)
{
	unsigned int k;
	uint8_t buf[4096];

	if (nr_peers == 0)
		return;
	k = fuzz_u8(in) % nr_peers;
	switch (what % 4) {
	case 0: { /* write: a CONNECT line or any bytes */
		const uint8_t *bytes;
		size_t n;

		if (what & 4) {
			n = (size_t)snprintf((char *)buf, sizeof(buf), "CONNECT %u\n",
					     guest_port(in));
			bytes = buf;
		} else {
			n = fuzz_take(in, fuzz_u8(in), &bytes);
		}
		if (send(peers[k], bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return;
		break;
	}
	case 1: /* read what is there */
		while (recv(peers[k], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		break;
	case 2:
		shutdown(peers[k], SHUT_WR);
		break;
	default:
		close(peers[k]);
		peers[k] = peers[--nr_peers];
		break;
	}
}

/* Descriptors, ring entries and registers as no driver would set them. */
static void raw_step(struct fuzz_input *in, uint8_t what)
{
	struct fuzz_ring *rings[] = {&rx, &tx, &ev};
	struct fuzz_ring *r = rings[fuzz_u8(in) % 3];

	if (r == &rx)
		rxq.unknown = true;
	switch (what % 4) {
	case 0: {
		uint16_t i = fuzz_u8(in) & 0x1f;
		uint64_t addr = fuzz_edge(in);
		uint32_t len = (uint32_t)fuzz_edge(in);
		uint16_t flags = fuzz_u8(in);

		fuzz_ring_desc(&guest, r, i, addr, len, flags, fuzz_u8(in) & 0x1f);
		break;
	}
	case 1:
		fuzz_ring_offer(&guest, r, fuzz_u16(in));
		break;
	case 2: {
		uint64_t off = (uint64_t)fuzz_u8(in) * 4;
		bool write = fuzz_u8(in) & 1;

		reg(off, write, (uint32_t)fuzz_edge(in));
		rxq.unknown = true; /* a reset or new queues */
		break;
	}
	default: {
		uint64_t gpa = fuzz_edge(in);
		const uint8_t *bytes;
		size_t n = fuzz_take(in, fuzz_u8(in), &bytes);

		fuzz_guest_put(&guest, gpa, bytes, n);
		rxq.unknown = true;
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint8_t setup = fuzz_u8(&in);
	char err[256];
	int fd;

	fuzz_guest_reset(&guest);
	memset(&rxq, 0, sizeof(rxq));
	nr_peers = tx_slot = ev_next = 0;
	if (virtio_vsock_open(&v, &guest.mem, LISPVM_VIRTIO_MMIO_BASE, path, -1, GUEST_CID, err,
			      sizeof(err)) < 0)
		fuzz_fail(err);
	v.thread_started = false; /* the harness is the thread */
	v.handshake_timeout_ms = setup & 1 ? 0 : 60000;
	start_driver(!(setup & 2));
	for (int step = 0; step < MAX_STEPS && !fuzz_done(&in); step++) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 9) {
		case 0:
			send_packet(&in);
			break;
		case 1:
			give_rx_buffer(&in);
			break;
		case 2:
			give_event_buffer(&in);
			break;
		case 3:
			client_connect();
			break;
		case 4:
			peer_step(&in, op / 9);
			break;
		case 5:
			add_peer(accept4(service_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
			break;
		case 6:
			virtio_vsock_transport_reset(&v, host_port(&in));
			break;
		default:
			raw_step(&in, op / 9);
			break;
		}
		run_device();
	}
	virtio_vsock_close(&v);
	while (nr_peers > 0)
		close(peers[--nr_peers]);
	while ((fd = accept4(service_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	return 0;
}
