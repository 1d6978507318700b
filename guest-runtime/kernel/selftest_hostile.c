/* SPDX-License-Identifier: MIT */
/*
 * A guest kernel turned against its VMM: raw hypercalls with any request
 * and arguments, virtqueues that break the spec's rules while the device
 * uses them, and floods of exits and doorbells.  The VMM ends a VM at the
 * first broken request, so each case is one VM: tests/kvm/hostile.py
 * names the case on the command line and checks how the VM ended.
 *
 * Addresses on the command line are NUMBER, SYMBOL or SYMBOL(+|-)NUMBER,
 * with the symbols below, so that the host need not know the guest's
 * memory map.
 */
#include "kernel/selftest_hostile.h"

#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "drivers/virtio_mmio.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"

#define HOSTILE_ARG_MAX 200

struct hostile_symbols {
	uint64_t buf;  /* a zeroed page of RAM */
	uint64_t list; /* the page hclist= fills */
	uint64_t req;  /* where the request goes */
	uint64_t end;  /* just past the highest RAM */
	uint64_t img;  /* image 0 (read-only), or 0 */
	uint64_t mmio; /* the first virtio-mmio device's registers */
};

static struct hostile_symbols sym;
static const struct boot_info *hostile_bi;

static void need(bool ok, const char *what)
{
	if (!ok)
		panic("selftest failed: %s", what);
}

static uint64_t symbol_value(const char *name, size_t len)
{
	static const struct {
		const char *name;
		const uint64_t *value;
	} table[] = {{"buf", &sym.buf}, {"list", &sym.list}, {"req", &sym.req},
		     {"end", &sym.end}, {"img", &sym.img},   {"mmio", &sym.mmio}};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
			return *table[i].value;
	panic("selftest: unknown address symbol '%.*s'", (int)len, name);
}

/* NUMBER | SYMBOL | SYMBOL+NUMBER | SYMBOL-NUMBER, ending at *end. */
static uint64_t parse_address(const char *s, const char **end)
{
	const char *p = s;
	uint64_t base = 0;
	char *after;

	if ((*p >= 'a' && *p <= 'z')) {
		while ((*p >= 'a' && *p <= 'z'))
			p++;
		base = symbol_value(s, (size_t)(p - s));
		if (*p != '+' && *p != '-') {
			*end = p;
			return base;
		}
		bool minus = *p++ == '-';
		uint64_t n = strtoul(p, &after, 0);

		*end = after;
		return minus ? base - n : base + n;
	}
	base = strtoul(p, &after, 0);
	need(after != p, "an address or number");
	*end = after;
	return base;
}

/* Up to max values separated by `sep`; returns how many. */
static unsigned int parse_values(const char *s, char sep, uint64_t *out, unsigned int max)
{
	unsigned int n = 0;

	while (*s != '\0' && n < max) {
		out[n++] = parse_address(s, &s);
		if (*s == sep)
			s++;
		else
			break;
	}
	return n;
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < hostile_bi->nr_ram; i++)
		if (gpa >= hostile_bi->ram[i].start && gpa <= hostile_bi->ram[i].end &&
		    len <= hostile_bi->ram[i].end - gpa)
			return true;
	return false;
}

static void symbols_init(const struct boot_info *bi)
{
	hostile_bi = bi;
	sym.buf = pmem_alloc_zeroed_page();
	sym.list = pmem_alloc_zeroed_page();
	sym.req = pmem_alloc_zeroed_page();
	need(sym.buf != 0 && sym.list != 0 && sym.req != 0, "scratch pages");
	for (unsigned int i = 0; i < bi->nr_ram; i++)
		if (bi->ram[i].end > sym.end)
			sym.end = bi->ram[i].end;
	sym.img = bi->nr_images > 0 ? bi->images[0].gpa : 0;
	sym.mmio = bi->nr_devices > 0 ? bi->devices[0].gpa : LISPVM_VIRTIO_MMIO_BASE;
}

/* hclist=V:V:...;V:V:... — entries of 64-bit values, one after another
 * at `list` (copy segments are dst:src:len, discard ranges gpa:len). */
static void fill_list(const char *spec)
{
	uint64_t *out = phys_to_virt(sym.list);
	unsigned int n = 0;

	while (*spec != '\0' && n < LISPVM_PAGE_SIZE / 8 - 8) {
		n += parse_values(spec, ':', out + n, 16);
		while (*spec != '\0' && *spec != ';')
			spec++;
		if (*spec == ';')
			spec++;
	}
}

/* Writes as much of the request as lies in RAM: a request that runs off
 * its end is the point of some cases. */
static void place_request(const struct lispvm_hypercall *r)
{
	const uint8_t *src = (const uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		if (in_ram(sym.req + i, 1))
			*(volatile uint8_t *)phys_to_virt(sym.req + i) = src[i];
}

/* hc=NR[,ARG...] sends hypercall NR with those arguments; hcreq=ADDR
 * puts the request there (below 4 GiB, as the port takes 32 bits),
 * hcres=R the reserved word, hclist= the list above.  A VM still
 * running afterwards prints what the hypercall returned. */
static void raw_hypercall(void)
{
	char spec[HOSTILE_ARG_MAX];
	uint64_t values[7] = {0};
	struct lispvm_hypercall r = {0};
	const char *end;
	unsigned int n;

	if (boot_cmdline_get(hostile_bi, "hcreq", spec, sizeof(spec)) == 0)
		sym.req = parse_address(spec, &end);
	need(sym.req <= UINT32_MAX, "hcreq below 4 GiB (the port takes 32 bits)");
	if (boot_cmdline_get(hostile_bi, "hclist", spec, sizeof(spec)) == 0)
		fill_list(spec);
	if (boot_cmdline_get(hostile_bi, "hcres", spec, sizeof(spec)) == 0)
		r.reserved = (uint32_t)parse_address(spec, &end);
	need(boot_cmdline_get(hostile_bi, "hc", spec, sizeof(spec)) == 0, "hc= given");
	n = parse_values(spec, ',', values, 7);
	need(n >= 1, "a hypercall number");
	r.nr = (uint32_t)values[0];
	r.ret = -1;
	for (unsigned int i = 1; i < n; i++)
		r.args[i - 1] = values[i];
	place_request(&r);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	outl(LISPVM_HYPERCALL_PORT, (uint32_t)sym.req);
	if (in_ram(sym.req, sizeof(r))) {
		const struct lispvm_hypercall *back = phys_to_virt(sym.req);

		printk("selftest hypercall: returned %ld\n", (long)back->ret);
	} else {
		printk("selftest hypercall: went on\n");
	}
}

/* ---- virtqueues ---- */

#define HQ_SIZE	    8
#define HOST_CID    2 /* VMADDR_CID_HOST */
#define HOST_PORT   9 /* nobody listens: the device answers with a reset */
#define GUEST_PORT  1234
#define PACKET_SIZE sizeof(struct virtio_vsock_hdr)

struct hostile_queue {
	struct virtq_driver q;
	uint64_t phys;
};

static struct virtio_mmio_device vdev;
static struct hostile_queue rxq, txq, evq;
static uint64_t packet; /* a page: one packet header, then payload */

static void queue_make(struct hostile_queue *hq, unsigned int index)
{
	hq->phys = pmem_alloc_zeroed_page(); /* virtq_layout(8) fits a page */
	need(hq->phys != 0 && virtq_layout(HQ_SIZE).total <= PAGE_SIZE, "queue page");
	virtq_driver_init(&hq->q, phys_to_virt(hq->phys), HQ_SIZE);
	need(virtio_mmio_setup_queue(&vdev, index, HQ_SIZE, hq->phys) == 0, "queue set up");
}

static void vsock_bring_up(void)
{
	const struct boot_device *d = boot_device_find(hostile_bi, VIRTIO_ID_VSOCK);

	need(d != NULL, "a vsock device (--vsock)");
	need(virtio_mmio_begin(&vdev, d) == 0, "device handshake");
	queue_make(&rxq, 0);
	queue_make(&txq, 1);
	queue_make(&evq, 2);
	packet = pmem_alloc_zeroed_page();
	need(packet != 0, "packet page");
	virtio_mmio_driver_ok(&vdev);
}

/* A connection request from the guest to HOST_PORT: the device must
 * answer it with a reset, through a receive buffer. */
static void write_request(void)
{
	struct virtio_vsock_hdr *h = phys_to_virt(packet);

	*h = (struct virtio_vsock_hdr){.src_cid = virtio_mmio_config_read32(&vdev, 0),
				       .dst_cid = HOST_CID,
				       .src_port = GUEST_PORT,
				       .dst_port = HOST_PORT,
				       .type = VIRTIO_VSOCK_TYPE_STREAM,
				       .op = VIRTIO_VSOCK_OP_REQUEST,
				       .buf_alloc = 65536};
}

static void offer_rx(uint64_t gpa, uint32_t len)
{
	struct virtq_segment seg = {.addr = gpa, .len = len, .device_writes = true};

	need(virtq_driver_add(&rxq.q, &seg, 1) >= 0, "receive buffer offered");
	virtio_mmio_notify(&vdev, 0);
}

static void send_request(void)
{
	struct virtq_segment seg = {.addr = packet, .len = PACKET_SIZE};

	write_request();
	need(virtq_driver_add(&txq.q, &seg, 1) >= 0, "packet queued");
	virtio_mmio_notify(&vdev, 1);
}

/* Waits for the device to use a request of q; false after ~10^8 polls. */
static bool wait_used(struct hostile_queue *hq)
{
	uint16_t head;
	uint32_t written;

	for (uint64_t i = 0; i < 100000000; i++) {
		if (virtq_driver_take_used(&hq->q, &head, &written))
			return true;
		cpu_relax();
	}
	return false;
}

/* The next available slot of q, filled with head `head`, then published
 * (and rung): the rule the case breaks is in the descriptor it wrote. */
static void publish_head(struct hostile_queue *hq, unsigned int index, uint16_t head)
{
	struct vring_avail *avail = hq->q.avail;

	avail->ring[avail->idx % HQ_SIZE] = head;
	__atomic_store_n(&avail->idx, (uint16_t)(avail->idx + 1), __ATOMIC_RELEASE);
	virtio_mmio_notify(&vdev, index);
}

static void publish_desc(struct vring_desc d)
{
	write_request();
	txq.q.desc[0] = d;
	publish_head(&txq, 1, 0);
}

static void queue_raw(unsigned int index, uint16_t size, uint64_t desc, uint64_t avail,
		      uint64_t used)
{
	volatile uint32_t *r = vdev.regs;

	r[VIRTIO_MMIO_QUEUE_SEL / 4] = index;
	r[VIRTIO_MMIO_QUEUE_NUM / 4] = size;
	r[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = (uint32_t)desc;
	r[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = (uint32_t)(desc >> 32);
	r[VIRTIO_MMIO_QUEUE_AVAIL_LOW / 4] = (uint32_t)avail;
	r[VIRTIO_MMIO_QUEUE_AVAIL_HIGH / 4] = (uint32_t)(avail >> 32);
	r[VIRTIO_MMIO_QUEUE_USED_LOW / 4] = (uint32_t)used;
	r[VIRTIO_MMIO_QUEUE_USED_HIGH / 4] = (uint32_t)(used >> 32);
	r[VIRTIO_MMIO_QUEUE_READY / 4] = 1;
}

/* A queue the device cannot use, set up before DRIVER_OK. */
static bool broken_setup(const char *name)
{
	const struct boot_device *d = boot_device_find(hostile_bi, VIRTIO_ID_VSOCK);
	uint64_t page = pmem_alloc_zeroed_page();
	struct virtq_layout l = virtq_layout(HQ_SIZE);

	need(d != NULL && page != 0 && virtio_mmio_begin(&vdev, d) == 0, "device handshake");
	queue_make(&rxq, 0);
	queue_make(&evq, 2);
	if (strcmp(name, "queue-size") == 0)
		queue_raw(1, 3, page, page + l.avail_off, page + l.used_off);
	else if (strcmp(name, "queue-misaligned") == 0)
		queue_raw(1, HQ_SIZE, page + 2, page + l.avail_off, page + l.used_off);
	else if (strcmp(name, "queue-outside") == 0)
		queue_raw(1, HQ_SIZE, sym.end, sym.end + l.avail_off, sym.end + l.used_off);
	else if (strcmp(name, "queue-used-read-only") == 0)
		queue_raw(1, HQ_SIZE, page, page + l.avail_off, sym.img);
	else
		return false;
	virtio_mmio_driver_ok(&vdev);
	return true;
}

/* Flips the fields the device reads (descriptor length, packet length,
 * operation, port) between two values while the device thread works on
 * the request: a device that fetched a field twice could pass a check on
 * one value and act on the other.  Every mix is a packet the device must
 * answer with a reset, so the VM must run to the end. */
static void double_fetch(void)
{
	struct virtio_vsock_hdr *h = phys_to_virt(packet);
	unsigned int done = 0;

	for (unsigned int i = 0; i < HQ_SIZE; i++)
		offer_rx(sym.buf + (i % 2) * 2048, 2048);
	for (unsigned int round = 0; round < 2000; round++) {
		write_request();
		txq.q.desc[0] = (struct vring_desc){.addr = packet, .len = PACKET_SIZE};
		publish_head(&txq, 1, 0);
		for (unsigned int k = 0; k < 64; k++) {
			txq.q.desc[0].len = k & 1 ? PACKET_SIZE + 2048 : PACKET_SIZE;
			h->len = k & 1 ? 2048 : 0;
			h->op = k & 1 ? VIRTIO_VSOCK_OP_RW : VIRTIO_VSOCK_OP_REQUEST;
			h->dst_port = k & 1 ? HOST_PORT + 1 : HOST_PORT;
		}
		while (txq.q.used->idx != txq.q.avail->idx)
			cpu_relax();
		txq.q.last_used = txq.q.used->idx;
		/* Take the resets back so the device always has a buffer. */
		while (rxq.q.used->idx != rxq.q.last_used) {
			uint16_t head;
			uint32_t written;

			if (virtq_driver_take_used(&rxq.q, &head, &written))
				offer_rx(sym.buf + (head % 2) * 2048, 2048);
		}
		done++;
	}
	printk("selftest virtq: %u racing requests used\n", done);
}

/* virtq=CASE: bring the vsock device up, then break one rule of the
 * split virtqueue (or none: "valid"). */
static void hostile_virtq(void)
{
	char name[48];
	uint64_t far = sym.end;

	need(boot_cmdline_get(hostile_bi, "virtq", name, sizeof(name)) == 0, "virtq= given");
	if (broken_setup(name)) {
		send_request();
		panic("the device took a queue it cannot use");
	}
	vsock_bring_up();
	if (strcmp(name, "valid") == 0) {
		offer_rx(sym.buf, PAGE_SIZE);
		send_request();
		need(wait_used(&txq), "the packet was used");
		need(wait_used(&rxq), "the reset came back");
		printk("selftest virtq: a request and its reset\n");
		return;
	}
	if (strcmp(name, "double-fetch") == 0) {
		double_fetch();
		return;
	}
	if (strcmp(name, "avail-ahead") == 0) {
		txq.q.avail->idx = HQ_SIZE + 1;
		virtio_mmio_notify(&vdev, 1);
	} else if (strcmp(name, "head-outside") == 0) {
		publish_head(&txq, 1, HQ_SIZE);
	} else if (strcmp(name, "loop") == 0) {
		txq.q.desc[1] = (struct vring_desc){
			.addr = packet + 64, .len = 8, .flags = VRING_DESC_F_NEXT, .next = 0};
		publish_desc((struct vring_desc){
			.addr = packet, .len = PACKET_SIZE, .flags = VRING_DESC_F_NEXT, .next = 1});
	} else if (strcmp(name, "next-outside") == 0) {
		publish_desc((struct vring_desc){.addr = packet,
						 .len = PACKET_SIZE,
						 .flags = VRING_DESC_F_NEXT,
						 .next = 200});
	} else if (strcmp(name, "buffer-outside") == 0) {
		publish_desc((struct vring_desc){.addr = far, .len = PACKET_SIZE});
	} else if (strcmp(name, "buffer-straddles") == 0) {
		publish_desc((struct vring_desc){.addr = far - 16, .len = PACKET_SIZE});
	} else if (strcmp(name, "buffer-wraps") == 0) {
		publish_desc((struct vring_desc){.addr = 0xfffffffffffff000ull, .len = 0x2000});
	} else if (strcmp(name, "buffer-in-mmio") == 0) {
		publish_desc((struct vring_desc){.addr = sym.mmio, .len = PACKET_SIZE});
	} else if (strcmp(name, "zero-length") == 0) {
		publish_desc((struct vring_desc){.addr = packet, .len = 0});
	} else if (strcmp(name, "indirect") == 0) {
		publish_desc((struct vring_desc){
			.addr = packet, .len = 16, .flags = VRING_DESC_F_INDIRECT});
	} else if (strcmp(name, "readable-after-writable") == 0) {
		txq.q.desc[1] = (struct vring_desc){.addr = packet + 64, .len = 8};
		publish_desc((struct vring_desc){.addr = packet,
						 .len = PACKET_SIZE,
						 .flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
						 .next = 1});
	} else if (strcmp(name, "receive-into-image") == 0) {
		need(sym.img != 0, "an image (--image)");
		offer_rx(sym.img, PAGE_SIZE);
		send_request();
	} else {
		panic("selftest: unknown virtq case '%s'", name);
	}
	/* The device thread stops the VM; give it the time to. */
	for (uint64_t i = 0; i < 1000000000ull; i++)
		cpu_relax();
	panic("the device used a broken queue");
}

/* ---- floods ---- */

static unsigned long flood_count(void)
{
	char value[24];

	return boot_cmdline_get(hostile_bi, "count", value, sizeof(value)) == 0
		       ? strtoul(value, NULL, 0)
		       : 100000;
}

/* Exits as fast as the guest can make them, each asking for work. */
static void flood_hypercalls(void)
{
	unsigned long n = flood_count();
	uint8_t *buf = phys_to_virt(sym.buf);

	for (unsigned long i = 0; i < n; i++) {
		need(hypercall(LISPVM_HC_GETRANDOM, sym.buf, 16) == 16, "getrandom");
		need(hypercall(LISPVM_HC_HOST_SIGNALS, 0, 0) >= 0, "host signals");
	}
	printk("selftest flood-hypercalls: %lu rounds, last byte %u\n", n, buf[15]);
}

/* Doorbells for queues with nothing in them, queues that do not exist and
 * a device not yet ready; then the device must still work. */
static void flood_doorbells(void)
{
	const struct boot_device *d = boot_device_find(hostile_bi, VIRTIO_ID_VSOCK);
	unsigned long n = flood_count();

	need(d != NULL && virtio_mmio_begin(&vdev, d) == 0, "device handshake");
	for (unsigned long i = 0; i < n / 4; i++)
		virtio_mmio_notify(&vdev, (unsigned int)(i % 5)); /* before DRIVER_OK */
	vsock_bring_up();
	for (unsigned long i = 0; i < n; i++)
		virtio_mmio_notify(&vdev, (unsigned int)(i % 4 == 3 ? 0xffff : i % 3));
	offer_rx(sym.buf, PAGE_SIZE);
	send_request();
	need(wait_used(&txq), "the packet was used after the flood");
	need(wait_used(&rxq), "the reset came back after the flood");
	printk("selftest flood-doorbells: %lu doorbells, then a request and its reset\n", n);
}

/* Requests to a port nobody serves, with no receive buffer for the
 * device's resets: what it owes the guest must stay bounded. */
static void flood_packets(void)
{
	struct virtio_vsock_hdr *h = phys_to_virt(packet);
	unsigned long n = flood_count();

	vsock_bring_up();
	for (unsigned long i = 0; i < n; i++) {
		write_request();
		h->src_port = GUEST_PORT + (uint32_t)(i % 60000);
		txq.q.desc[0] = (struct vring_desc){.addr = packet, .len = PACKET_SIZE};
		publish_head(&txq, 1, 0);
		while (txq.q.used->idx != txq.q.avail->idx)
			cpu_relax();
	}
	txq.q.last_used = txq.q.used->idx;
	offer_rx(sym.buf, PAGE_SIZE);
	need(wait_used(&rxq), "a reset after the flood");
	printk("selftest flood-packets: %lu requests\n", n);
}

/* Console output without end (or count= pages of it): the host's reader
 * sets the pace, and --timeout still ends the VM. */
static void flood_console(void)
{
	char value[24];
	unsigned long n = boot_cmdline_get(hostile_bi, "count", value, sizeof(value)) == 0
				  ? strtoul(value, NULL, 0)
				  : ~0ul;
	char *page = phys_to_virt(sym.buf);

	memset(page, 'x', PAGE_SIZE);
	page[PAGE_SIZE - 1] = '\n';
	for (unsigned long i = 0; i < n; i++)
		hypercall(LISPVM_HC_CONSOLE_WRITE, sym.buf, PAGE_SIZE);
	printk("selftest flood-console: %lu pages\n", n);
}

/* Opens mount 0's root through the hostfs hypercall until the VMM
 * refuses, then holds every handle until a byte arrives on stdin, so that
 * the host can count the VMM's descriptors meanwhile. */
static void flood_host_files(void)
{
	struct lispvm_hostfs_req *r = phys_to_virt(sym.list);
	char *path = phys_to_virt(sym.buf);
	int64_t ret;
	unsigned long n = 0;

	need(hostile_bi->nr_mounts > 0, "a mount (--mount)");
	path[0] = '\0';
	for (;;) {
		*r = (struct lispvm_hostfs_req){.op = LISPVM_HOSTFS_OPEN,
						.path_gpa = sym.buf,
						.path_len = 1,
						.flags = 0200000 /* O_DIRECTORY */};
		ret = hypercall(LISPVM_HC_HOSTFS, sym.list, sizeof(*r));
		if (ret < 0)
			break;
		n++;
	}
	printk("selftest flood-host-files: %lu handles, then %ld\n", n, (long)ret);
	(void)hypercall3(LISPVM_HC_STDIO_READ, 0, sym.buf, 1);
}

void selftest_hostile_run(const char *name, const struct boot_info *bi)
{
	symbols_init(bi);
	if (strcmp(name, "hypercall") == 0)
		raw_hypercall();
	else if (strcmp(name, "virtq") == 0)
		hostile_virtq();
	else if (strcmp(name, "flood-hypercalls") == 0)
		flood_hypercalls();
	else if (strcmp(name, "flood-doorbells") == 0)
		flood_doorbells();
	else if (strcmp(name, "flood-packets") == 0)
		flood_packets();
	else if (strcmp(name, "flood-console") == 0)
		flood_console();
	else if (strcmp(name, "flood-host-files") == 0)
		flood_host_files();
	else
		panic("unknown selftest '%s'", name);
}
