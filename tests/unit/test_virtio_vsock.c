/* SPDX-License-Identifier: MIT */
/*
 * The vsock device with its thread, driven as a guest driver would:
 * registers through the transport, packets through driver-side queues in
 * fake guest RAM, notifications and interrupts through the device's
 * eventfds; the host side through real Unix sockets in a temporary
 * directory, Firecracker's way ("CONNECT <port>\n" / "OK <port>\n", and
 * PATH_<port> for the guest's connections).
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "check.h"
#include "guest_memory.h"
#include "virtio_vsock.h"
#include "virtqueue.h"

#define RAM_GPA	   0x100000ULL
#define RAM_SIZE   0x40000ULL
#define RX_RING	   0x0000 /* offsets in RAM */
#define TX_RING	   0x2000
#define EV_RING	   0x4000
#define RX_BUFS	   0x8000 /* QSIZE buffers of RX_BUF_LEN */
#define RX_BUF_LEN 0x1000
#define TX_BUF	   0x20000 /* up to 64 KiB */
#define EV_BUF	   0x30000
#define QSIZE	   8
#define GUEST_CID  3
#define WAIT_MS	   10000 /* only a guard against a hang; nothing here is timed */

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

struct rig {
	struct guest_memory mem;
	struct virtio_vsock dev;
	struct virtq_driver rx, tx, ev;
	int rx_buffer_of[QSIZE]; /* head -> buffer index */
	char dir[64], path[96];
};

struct packet {
	struct virtio_vsock_hdr h;
	uint8_t data[RX_BUF_LEN];
	uint32_t len;
};

static uint32_t reg_read(struct rig *r, uint64_t off)
{
	uint32_t v = 0;
	const char *why = NULL;

	virtio_mmio_access(&r->dev.mmio, LISPVM_VIRTIO_MMIO_BASE + off, (uint8_t *)&v, 4, false,
			   &why);
	return v;
}

static int reg_write(struct rig *r, uint64_t off, uint32_t v)
{
	const char *why = NULL;

	return virtio_mmio_access(&r->dev.mmio, LISPVM_VIRTIO_MMIO_BASE + off, (uint8_t *)&v, 4,
				  true, &why);
}

static void give_queue(struct rig *r, struct virtq_driver *q, unsigned int index, uint64_t off)
{
	struct virtq_layout l = virtq_layout(QSIZE);
	uint64_t gpa = RAM_GPA + off;

	virtq_driver_init(q, ram + off, QSIZE);
	reg_write(r, VIRTIO_MMIO_QUEUE_SEL, index);
	reg_write(r, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	reg_write(r, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)gpa);
	reg_write(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(gpa + l.avail_off));
	reg_write(r, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(gpa + l.used_off));
	reg_write(r, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void notify(struct rig *r)
{
	uint64_t one = 1;

	CHECK(write(r->dev.notify_fd, &one, sizeof(one)) == sizeof(one));
}

static void post_rx(struct rig *r, int buffer)
{
	struct virtq_segment seg = {RAM_GPA + RX_BUFS + (uint64_t)buffer * RX_BUF_LEN, RX_BUF_LEN,
				    true};
	int head = virtq_driver_add(&r->rx, &seg, 1);

	CHECK(head >= 0);
	if (head >= 0)
		r->rx_buffer_of[head] = buffer;
	notify(r);
}

static void rig_open(struct rig *r)
{
	char err[256] = "";

	memset(ram, 0, sizeof(ram));
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/vsock-test-XXXXXX");
	CHECK(mkdtemp(r->dir) != NULL);
	snprintf(r->path, sizeof(r->path), "%s/v.sock", r->dir);
	CHECK(guest_memory_add(&r->mem, RAM_GPA, RAM_SIZE, ram, true) == 0);
	CHECK(virtio_vsock_open(&r->dev, &r->mem, LISPVM_VIRTIO_MMIO_BASE, r->path, -1, GUEST_CID,
				err, sizeof(err)) == 0);
	CHECK(reg_read(r, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK);
	reg_write(r, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(r, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	reg_write(r, VIRTIO_MMIO_STATUS,
		  reg_read(r, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FEATURES_OK);
	give_queue(r, &r->rx, VSOCK_QUEUE_RX, RX_RING);
	give_queue(r, &r->tx, VSOCK_QUEUE_TX, TX_RING);
	give_queue(r, &r->ev, VSOCK_QUEUE_EVENT, EV_RING);
	CHECK(reg_write(r, VIRTIO_MMIO_STATUS,
			reg_read(r, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK) == 0);
	/* The guest's CID is in the configuration space. */
	CHECK(reg_read(r, VIRTIO_MMIO_CONFIG) == GUEST_CID);
	for (int i = 0; i < QSIZE; i++)
		post_rx(r, i);
}

static void rig_close(struct rig *r)
{
	char p[128];

	virtio_vsock_close(&r->dev);
	CHECK(access(r->path, F_OK) != 0); /* the socket file went with it */
	for (int port = 5000; port < 5010; port++) {
		snprintf(p, sizeof(p), "%s_%d", r->path, port);
		unlink(p);
	}
	rmdir(r->dir);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Waits for a used entry of q, rechecking on every interrupt (the counter
 * is shared by the queues, so a short poll keeps one from hiding another). */
static bool wait_used(struct rig *r, struct virtq_driver *q, uint16_t *head, uint32_t *written)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (now_ms() < deadline) {
		struct pollfd p = {.fd = r->dev.irq_fd, .events = POLLIN};
		uint64_t count;

		if (virtq_driver_take_used(q, head, written))
			return true;
		if (poll(&p, 1, 20) == 1)
			CHECK(read(r->dev.irq_fd, &count, sizeof(count)) == sizeof(count));
	}
	return false;
}

/* The next packet the device sent; its buffer goes back to the device. */
static bool receive(struct rig *r, struct packet *p)
{
	uint16_t head;
	uint32_t written;
	int buffer;

	if (!wait_used(r, &r->rx, &head, &written))
		return false;
	buffer = r->rx_buffer_of[head];
	CHECK(written >= sizeof(p->h) && written <= RX_BUF_LEN);
	memcpy(&p->h, ram + RX_BUFS + buffer * RX_BUF_LEN, sizeof(p->h));
	p->len = written - (uint32_t)sizeof(p->h);
	CHECK(le32toh(p->h.len) == p->len);
	memcpy(p->data, ram + RX_BUFS + buffer * RX_BUF_LEN + sizeof(p->h), p->len);
	post_rx(r, buffer);
	return true;
}

static void expect_packet(struct rig *r, struct packet *p, uint16_t op, uint32_t src_port,
			  uint32_t dst_port)
{
	CHECK(receive(r, p));
	if (le16toh(p->h.op) != op)
		fprintf(stderr, "got op %u for %u, wanted op %u\n", le16toh(p->h.op),
			le32toh(p->h.dst_port), op);
	CHECK(le16toh(p->h.op) == op);
	CHECK(le64toh(p->h.src_cid) == VSOCK_HOST_CID && le64toh(p->h.dst_cid) == GUEST_CID);
	CHECK(le16toh(p->h.type) == VIRTIO_VSOCK_TYPE_STREAM);
	if (src_port != 0)
		CHECK(le32toh(p->h.src_port) == src_port);
	CHECK(le32toh(p->h.dst_port) == dst_port);
}

static void send_packet(struct rig *r, uint16_t op, uint32_t src_port, uint32_t dst_port,
			uint32_t flags, const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(GUEST_CID),
		.dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(src_port),
		.dst_port = htole32(dst_port),
		.len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(256 * 1024),
		.fwd_cnt = 0,
	};
	struct virtq_segment seg[2] = {{RAM_GPA + TX_BUF, sizeof(h), false},
				       {RAM_GPA + TX_BUF + sizeof(h), len, false}};
	uint16_t head;
	uint32_t written;

	memcpy(ram + TX_BUF, &h, sizeof(h));
	if (len > 0)
		memcpy(ram + TX_BUF + sizeof(h), data, len);
	CHECK(virtq_driver_add(&r->tx, seg, len ? 2 : 1) >= 0);
	notify(r);
	CHECK(wait_used(r, &r->tx, &head, &written));
}

static int unix_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return fd;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	      listen(fd, 8) == 0);
	return fd;
}

/* Reads exactly n bytes (or fewer at EOF) with a guard against a hang. */
static ssize_t read_n(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t got;

		if (poll(&p, 1, WAIT_MS) != 1)
			break;
		got = read(fd, (uint8_t *)buf + done, n - done);
		if (got <= 0)
			break;
		done += (size_t)got;
	}
	return (ssize_t)done;
}

/* A host client connects to the guest's port 1234 and talks. */
static void test_host_connects(void)
{
	struct rig r;
	struct packet p;
	char line[32];
	uint32_t host_port;
	int fd;

	rig_open(&r);
	fd = unix_connect(r.path);
	CHECK(write(fd, "CONNECT 1234\n", 13) == 13);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_REQUEST, 0, 1234);
	CHECK(le32toh(p.h.buf_alloc) == VSOCK_CONN_BUF);
	host_port = le32toh(p.h.src_port);
	send_packet(&r, VIRTIO_VSOCK_OP_RESPONSE, 1234, host_port, 0, NULL, 0);
	snprintf(line, sizeof(line), "OK %u\n", host_port);
	{
		char got[32] = "";

		CHECK(read_n(fd, got, strlen(line)) == (ssize_t)strlen(line));
		CHECK(strcmp(got, line) == 0);
	}
	CHECK(write(fd, "ping", 4) == 4);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RW, host_port, 1234);
	CHECK(p.len == 4 && memcmp(p.data, "ping", 4) == 0);
	send_packet(&r, VIRTIO_VSOCK_OP_RW, 1234, host_port, 0, "pong", 4);
	{
		char got[4];

		CHECK(read_n(fd, got, 4) == 4 && memcmp(got, "pong", 4) == 0);
	}
	/* The host stops sending: the guest hears SHUTDOWN(SEND). */
	shutdown(fd, SHUT_WR);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_SHUTDOWN, host_port, 1234);
	CHECK(le32toh(p.h.flags) & VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest closes: RST back, and the host client sees the end. */
	send_packet(&r, VIRTIO_VSOCK_OP_SHUTDOWN, 1234, host_port,
		    VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RST, host_port, 1234);
	{
		char got;

		CHECK(read_n(fd, &got, 1) == 0);
	}
	close(fd);
	rig_close(&r);
}

/* A bad handshake line is closed, not answered. */
static void test_bad_handshake(void)
{
	struct rig r;
	char got;
	int fd;

	rig_open(&r);
	fd = unix_connect(r.path);
	CHECK(write(fd, "HELLO 1\n", 8) == 8);
	CHECK(read_n(fd, &got, 1) == 0);
	close(fd);
	rig_close(&r);
}

/* A client that never finishes its CONNECT line is dropped when its time
 * runs out, and so is one whose REQUEST the guest never answers (the guest
 * hears RST): idle clients cannot hold every slot. */
static void test_handshake_timeout(void)
{
	struct rig r;
	struct packet p;
	uint32_t local;
	char got;
	int idle, waiting;

	rig_open(&r);
	pthread_mutex_lock(&r.dev.lock);
	r.dev.handshake_timeout_ms = 200;
	pthread_mutex_unlock(&r.dev.lock);
	idle = unix_connect(r.path);
	CHECK(write(idle, "CONN", 4) == 4);
	waiting = unix_connect(r.path);
	CHECK(write(waiting, "CONNECT 7\n", 10) == 10);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_REQUEST, 0, 7);
	local = le32toh(p.h.src_port);
	CHECK(read_n(idle, &got, 1) == 0); /* EOF, not a hang */
	CHECK(read_n(waiting, &got, 1) == 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RST, local, 7);
	close(idle);
	close(waiting);
	rig_close(&r);
}

/* The guest connects to host port 5000 (PATH_5000) and talks; a port with
 * no listener is refused with RST. */
static void test_guest_connects(void)
{
	struct rig r;
	struct packet p;
	char path[128], got[4];
	int listener, fd;

	rig_open(&r);
	snprintf(path, sizeof(path), "%s_5000", r.path);
	listener = unix_listen(path);
	send_packet(&r, VIRTIO_VSOCK_OP_REQUEST, 40000, 5000, 0, NULL, 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RESPONSE, 5000, 40000);
	fd = accept(listener, NULL, NULL);
	CHECK(fd >= 0);
	send_packet(&r, VIRTIO_VSOCK_OP_RW, 40000, 5000, 0, "hi", 2);
	CHECK(read_n(fd, got, 2) == 2 && memcmp(got, "hi", 2) == 0);
	CHECK(write(fd, "yo", 2) == 2);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RW, 5000, 40000);
	CHECK(p.len == 2 && memcmp(p.data, "yo", 2) == 0);
	send_packet(&r, VIRTIO_VSOCK_OP_RST, 40000, 5000, 0, NULL, 0);
	CHECK(read_n(fd, got, 1) == 0);
	close(fd);
	/* Nobody at 5001; and data for a connection that does not exist. */
	send_packet(&r, VIRTIO_VSOCK_OP_REQUEST, 40001, 5001, 0, NULL, 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RST, 5001, 40001);
	send_packet(&r, VIRTIO_VSOCK_OP_RW, 40002, 5000, 0, "x", 1);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RST, 5000, 40002);
	close(listener);
	rig_close(&r);
}

/* A guest that sends past its credit to a host reader that never reads
 * loses the connection; the VMM keeps no more than the credit. */
static void test_flood(void)
{
	static uint8_t chunk[60 * 1024];
	struct rig r;
	struct packet p;
	char path[128];
	int listener, fd;
	uint64_t sent = 0;
	bool reset = false;

	rig_open(&r);
	snprintf(path, sizeof(path), "%s_5002", r.path);
	listener = unix_listen(path);
	send_packet(&r, VIRTIO_VSOCK_OP_REQUEST, 40003, 5002, 0, NULL, 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RESPONSE, 5002, 40003);
	fd = accept(listener, NULL, NULL);
	memset(chunk, 'z', sizeof(chunk));
	/* Credit updates come while the host socket still takes bytes. */
	while (!reset && sent < 8 * 1024 * 1024) {
		send_packet(&r, VIRTIO_VSOCK_OP_RW, 40003, 5002, 0, chunk, sizeof(chunk));
		sent += sizeof(chunk);
		while (!reset && virtq_driver_has_used(&r.rx) && receive(&r, &p)) {
			CHECK(le32toh(p.h.dst_port) == 40003);
			reset = le16toh(p.h.op) == VIRTIO_VSOCK_OP_RST;
			CHECK(reset || le16toh(p.h.op) == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		}
	}
	CHECK(reset);
	/* The host kernel's socket buffers plus the connection's ring. */
	CHECK(sent <= VSOCK_CONN_BUF + 4 * 1024 * 1024);
	close(fd);
	close(listener);
	rig_close(&r);
}

/* Many host clients at once, each answered in turn. */
static void test_many_connections(void)
{
	enum { N = 64 };
	struct rig r;
	struct packet p;
	int fds[N];

	rig_open(&r);
	for (int i = 0; i < N; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "CONNECT %d\n", 100 + i);

		fds[i] = unix_connect(r.path);
		CHECK(write(fds[i], line, (size_t)n) == n);
	}
	for (int i = 0; i < N; i++) {
		uint32_t port;

		CHECK(receive(&r, &p));
		CHECK(le16toh(p.h.op) == VIRTIO_VSOCK_OP_REQUEST);
		port = le32toh(p.h.dst_port);
		CHECK(port >= 100 && port < 100 + N);
		send_packet(&r, VIRTIO_VSOCK_OP_RESPONSE, port, le32toh(p.h.src_port), 0, NULL, 0);
	}
	for (int i = 0; i < N; i++) {
		char got[3] = "";

		CHECK(read_n(fds[i], got, 3) == 3 && memcmp(got, "OK ", 3) == 0);
		close(fds[i]);
	}
	rig_close(&r);
}

/* A resumed VM's transport reset goes before anything else: a host
 * client's connect waits until the guest has the reset, so a stream it
 * takes up cannot be ended by the reset that follows. */
static void test_reset_goes_first(void)
{
	struct rig r;
	struct packet p;
	struct virtio_vsock_event event;
	struct virtq_segment seg = {RAM_GPA + EV_BUF, sizeof(event), true};
	uint16_t head;
	uint32_t written;
	int fd;

	rig_open(&r);
	virtio_vsock_transport_reset(&r.dev, 0);
	fd = unix_connect(r.path);
	CHECK(write(fd, "CONNECT 1234\n", 13) == 13);
	/* No event buffer yet: the connect must not overtake the reset. */
	usleep(200 * 1000);
	CHECK(!virtq_driver_take_used(&r.rx, &head, &written));
	CHECK(virtq_driver_add(&r.ev, &seg, 1) >= 0);
	notify(&r);
	CHECK(wait_used(&r, &r.ev, &head, &written));
	memcpy(&event, ram + EV_BUF, sizeof(event));
	CHECK(written == sizeof(event) && le32toh(event.id) == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_REQUEST, 0, 1234);
	close(fd);
	rig_close(&r);
}

/* After a resume the host ports the old VMM gave out stay unused: a
 * packet the guest sends for an old stream before it takes the reset (a
 * session closing as the VM resumed) must not end a new client's
 * connect, as it did when both VMMs counted from the same port. */
static void test_reset_keeps_old_ports(void)
{
	enum { OLD_PORT = 1024, FIRST_NEW = 70000 };
	struct rig r;
	struct packet p;
	struct virtq_segment seg = {RAM_GPA + EV_BUF, sizeof(struct virtio_vsock_event), true};
	uint16_t head;
	uint32_t written, host_port;
	char line[32], got[32] = "";
	int fd;

	rig_open(&r);
	virtio_vsock_transport_reset(&r.dev, FIRST_NEW);
	CHECK(virtq_driver_add(&r.ev, &seg, 1) >= 0);
	notify(&r);
	CHECK(wait_used(&r, &r.ev, &head, &written));
	fd = unix_connect(r.path);
	CHECK(write(fd, "CONNECT 1234\n", 13) == 13);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_REQUEST, 0, 1234);
	host_port = le32toh(p.h.src_port);
	CHECK(host_port >= FIRST_NEW);
	CHECK(virtio_vsock_next_port(&r.dev) > host_port);
	/* The old stream's goodbye: unknown now, so answered with RST. */
	send_packet(&r, VIRTIO_VSOCK_OP_SHUTDOWN, 1234, OLD_PORT,
		    VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
	expect_packet(&r, &p, VIRTIO_VSOCK_OP_RST, OLD_PORT, 1234);
	send_packet(&r, VIRTIO_VSOCK_OP_RESPONSE, 1234, host_port, 0, NULL, 0);
	snprintf(line, sizeof(line), "OK %u\n", host_port);
	CHECK(read_n(fd, got, strlen(line)) == (ssize_t)strlen(line));
	CHECK(strcmp(got, line) == 0);
	close(fd);
	rig_close(&r);
}

int main(void)
{
	test_host_connects();
	test_bad_handshake();
	test_handshake_timeout();
	test_guest_connects();
	test_flood();
	test_many_connections();
	test_reset_goes_first();
	test_reset_keeps_old_ports();
	return check_result("virtio_vsock");
}
