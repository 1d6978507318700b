/* SPDX-License-Identifier: MIT */
/*
 * A guest kernel turned against its VMM: raw hypercalls with any request
 * and arguments, virtqueues that break the spec's rules while the device
 * uses them, a device's registers misused and its state changed under
 * it, and floods of exits and doorbells.  The VMM ends a VM at the
 * first broken request, so each case is one VM: tests/kvm/hostile.py
 * names the case on the command line and checks how the VM ended.
 *
 * Addresses on the command line are NUMBER, SYMBOL or SYMBOL(+|-)NUMBER,
 * with the symbols below, so that the host need not know the guest's
 * memory map.
 */
#include "kernel/selftest_hostile.h"

#include <linux/virtio_config.h>
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

static const struct boot_device *vsock_device(void)
{
	const struct boot_device *d = boot_device_find(hostile_bi, VIRTIO_ID_VSOCK);

	need(d != NULL, "a vsock device (--vsock)");
	return d;
}

/* The vsock device reset and through the feature handshake. */
static void vsock_begin(void)
{
	need(virtio_mmio_begin(&vdev, vsock_device()) == 0, "device handshake");
}

/* After the feature handshake: three fresh queues, then DRIVER_OK. */
static void vsock_queues_up(void)
{
	queue_make(&rxq, 0);
	queue_make(&txq, 1);
	queue_make(&evq, 2);
	packet = pmem_alloc_zeroed_page();
	need(packet != 0, "packet page");
	virtio_mmio_driver_ok(&vdev);
}

static void vsock_bring_up(void)
{
	vsock_begin();
	vsock_queues_up();
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
	uint64_t page = pmem_alloc_zeroed_page();
	struct virtq_layout l = virtq_layout(HQ_SIZE);

	need(page != 0, "queue page");
	vsock_begin();
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

/* Flips the fields the device reads (descriptor lengths, packet length,
 * operation, port) between two values while the device thread works
 * through a ring of requests: a device that fetched a field twice could
 * pass a check on one value and act on the other.  Every mix is a packet
 * the device must answer with a reset, so the VM must run to its end.
 * volatile: each flip is a store the device thread can see, not one the
 * compiler may fold into the last. */
static void double_fetch(void)
{
	volatile struct virtio_vsock_hdr *h = phys_to_virt(packet);
	volatile struct vring_desc *d = txq.q.desc;
	volatile uint16_t *used_idx = &txq.q.used->idx;
	unsigned int raced = 0;
	uint64_t flips = 0;

	for (unsigned int i = 0; i < HQ_SIZE; i++)
		offer_rx(sym.buf + i * 256, 256);
	for (unsigned int round = 0; round < 2000; round++) {
		uint16_t target = (uint16_t)(txq.q.avail->idx + HQ_SIZE);
		uint64_t before = flips;

		write_request();
		for (uint16_t i = 0; i < HQ_SIZE; i++) {
			txq.q.desc[i] = (struct vring_desc){.addr = packet, .len = PACKET_SIZE};
			txq.q.avail->ring[(txq.q.avail->idx + i) % HQ_SIZE] = i;
		}
		__atomic_store_n(&txq.q.avail->idx, target, __ATOMIC_RELEASE);
		virtio_mmio_notify(&vdev, 1);
		/* Until the device has used them all: every read it makes may
		 * see either value. */
		for (unsigned int k = 0; *used_idx != target; k++, flips++) {
			d[k % HQ_SIZE].len = k & 1 ? PACKET_SIZE + 2048 : PACKET_SIZE;
			h->len = k & 1 ? 2048 : 0;
			h->op = k & 1 ? VIRTIO_VSOCK_OP_RW : VIRTIO_VSOCK_OP_REQUEST;
			h->dst_port = k & 2 ? HOST_PORT + 1 : HOST_PORT;
		}
		raced += flips > before;
		txq.q.last_used = target;
		/* Take the resets back so the device always has buffers. */
		for (uint16_t head; rxq.q.used->idx != rxq.q.last_used;) {
			uint32_t written;

			if (virtq_driver_take_used(&rxq.q, &head, &written))
				offer_rx(sym.buf + (head % HQ_SIZE) * 256, 256);
		}
	}
	printk("selftest virtq: 2000 rounds of %d racing requests, %u raced, %lu flips\n", HQ_SIZE,
	       raced, (unsigned long)flips);
}

/* ---- the register page (virtq=mmio mmio=CASE) ----
 *
 * Accesses of every width and alignment, registers read or written
 * against their direction, and the device's state changed under it after
 * DRIVER_OK.  A case the VMM ignores goes on to a request and its reset
 * on the queues set up first, so the device must still serve those. */

#define SERVICE_PORT  7000 /* hostile.py listens at PATH_7000 for reset-live */
#define SERVICE_BYTES 8192 /* what it sends on the first stream */
#define STATUS_LIVE                                                                                \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |      \
	 VIRTIO_CONFIG_S_DRIVER_OK)

static volatile uint8_t *reg_at(unsigned int off)
{
	return (volatile uint8_t *)vdev.regs + off;
}

static uint32_t reg_get(unsigned int off)
{
	return *(volatile uint32_t *)reg_at(off);
}

static void reg_set(unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)reg_at(off) = v;
}

/* One 16-byte SSE access, wider than the 8 bytes of a KVM MMIO exit.  The
 * kernel is built with -mgeneral-regs-only: xmm0 holds nothing of the
 * compiler's. */
static void store16(unsigned int off, const void *src)
{
	__asm__ volatile("movdqu (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)"
			 :
			 : "r"(reg_at(off)), "r"(src)
			 : "memory");
}

static void load16(unsigned int off, void *dst)
{
	__asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu %%xmm0, (%1)"
			 :
			 : "r"(reg_at(off)), "r"(dst)
			 : "memory");
}

/* rep movsb: the device sees one byte at a time. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port));
}

static uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %w1, %w0" : "=a"(v) : "Nd"(port));
	return v;
}

/* The spec's write-only registers (and two reserved words): all read 0. */
static const unsigned int write_only[] = {VIRTIO_MMIO_DEVICE_FEATURES_SEL,
					  VIRTIO_MMIO_DRIVER_FEATURES,
					  VIRTIO_MMIO_DRIVER_FEATURES_SEL,
					  VIRTIO_MMIO_QUEUE_SEL,
					  VIRTIO_MMIO_QUEUE_NUM,
					  VIRTIO_MMIO_QUEUE_NOTIFY,
					  VIRTIO_MMIO_INTERRUPT_ACK,
					  VIRTIO_MMIO_QUEUE_DESC_LOW,
					  VIRTIO_MMIO_QUEUE_DESC_HIGH,
					  VIRTIO_MMIO_QUEUE_AVAIL_LOW,
					  VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
					  VIRTIO_MMIO_QUEUE_USED_LOW,
					  VIRTIO_MMIO_QUEUE_USED_HIGH,
					  0x18,
					  0xf8};

static void mmio_read_only(const char *name)
{
	reg_set(VIRTIO_MMIO_QUEUE_SEL, 1);
	reg_set(VIRTIO_MMIO_MAGIC_VALUE, 0);
	reg_set(VIRTIO_MMIO_VERSION, 1);
	reg_set(VIRTIO_MMIO_DEVICE_ID, 1);
	reg_set(VIRTIO_MMIO_VENDOR_ID, 0);
	reg_set(VIRTIO_MMIO_DEVICE_FEATURES, ~0u);
	reg_set(VIRTIO_MMIO_QUEUE_NUM_MAX, 1);
	reg_set(VIRTIO_MMIO_INTERRUPT_STATUS, ~0u);
	reg_set(VIRTIO_MMIO_CONFIG_GENERATION, 7);
	reg_set(VIRTIO_MMIO_CONFIG, 99);
	*(volatile uint64_t *)reg_at(VIRTIO_MMIO_CONFIG) = 99;
	printk("selftest mmio %s: magic 0x%x version %u device %u vendor 0x%x features 0x%x "
	       "max %u generation %u cid %u\n",
	       name, reg_get(VIRTIO_MMIO_MAGIC_VALUE), reg_get(VIRTIO_MMIO_VERSION),
	       reg_get(VIRTIO_MMIO_DEVICE_ID), reg_get(VIRTIO_MMIO_VENDOR_ID),
	       reg_get(VIRTIO_MMIO_DEVICE_FEATURES), reg_get(VIRTIO_MMIO_QUEUE_NUM_MAX),
	       reg_get(VIRTIO_MMIO_CONFIG_GENERATION), reg_get(VIRTIO_MMIO_CONFIG));
}

static void mmio_write_only(const char *name)
{
	uint32_t any = 0;

	for (size_t i = 0; i < sizeof(write_only) / sizeof(write_only[0]); i++)
		any |= reg_get(write_only[i]);
	printk("selftest mmio %s: %u registers read 0x%x\n", name,
	       (unsigned int)(sizeof(write_only) / sizeof(write_only[0])), any);
}

/* Before DRIVER_OK: queues 3 and 2^32-1 (the device has 0 to 2) show no
 * room and take no set-up, and the real ones are set up after. */
static void mmio_queue_beyond(const char *name)
{
	static const uint32_t sel[] = {3, 0xffffffff};
	uint32_t max = 0, ready = 0;

	vsock_begin();
	for (size_t i = 0; i < 2; i++) {
		queue_raw(sel[i], HQ_SIZE, sym.buf, sym.buf + 256, sym.buf + 512);
		max |= reg_get(VIRTIO_MMIO_QUEUE_NUM_MAX);
		ready |= reg_get(VIRTIO_MMIO_QUEUE_READY);
	}
	vsock_queues_up();
	printk("selftest mmio %s: max %u ready %u\n", name, max, ready);
}

static void mmio_config_past_end(const char *name)
{
	uint64_t any = reg_get(VIRTIO_MMIO_CONFIG + 8) | reg_get(VIRTIO_MMIO_CONFIG + 0xfc) |
		       *(volatile uint64_t *)reg_at(VIRTIO_MMIO_CONFIG + 0xf8) |
		       *(volatile uint8_t *)reg_at(VIRTIO_MMIO_CONFIG + 0xff);
	/* Four bytes of the register page and four past it, in one exit. */
	uint64_t straddling = *(volatile uint64_t *)reg_at(LISPVM_VIRTIO_MMIO_SIZE - 4);

	printk("selftest mmio %s: 0x%lx, across the page's end 0x%lx, cid %lu\n", name,
	       (unsigned long)any, (unsigned long)straddling,
	       (unsigned long)*(volatile uint64_t *)reg_at(VIRTIO_MMIO_CONFIG));
}

/* The driver features, with every bit the device did not offer. */
static void offer_everything(void)
{
	reg_set(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_set(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	reg_set(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_set(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
}

/* A fresh handshake asking for features not offered: FEATURES_OK does
 * not stick; a reset and the right handshake after it work. */
static void mmio_features_unoffered(const char *name)
{
	uint32_t status;

	vdev.regs = phys_to_virt(vsock_device()->gpa);
	reg_set(VIRTIO_MMIO_STATUS, 0);
	reg_set(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	offer_everything();
	reg_set(VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	status = reg_get(VIRTIO_MMIO_STATUS);
	vsock_bring_up();
	printk("selftest mmio %s: status 0x%x\n", name, status);
}

/* Queue q moved, in its registers, to another place (while ready). */
static void move_queue(unsigned int q, uint64_t to)
{
	struct virtq_layout l = virtq_layout(HQ_SIZE);

	queue_raw(q, HQ_SIZE, to, to + l.avail_off, to + l.used_off);
}

/* QueueReady 0 (read back), the queue moved outside RAM, QueueReady 1. */
static uint32_t toggle_ready(unsigned int q)
{
	uint32_t ready;

	reg_set(VIRTIO_MMIO_QUEUE_SEL, q);
	reg_set(VIRTIO_MMIO_QUEUE_READY, 0);
	ready = reg_get(VIRTIO_MMIO_QUEUE_READY);
	move_queue(q, sym.end);
	return ready;
}

/* The acts done after DRIVER_OK, with a receive buffer out; false for a
 * name that is none of them. */
static bool mmio_mid_run(const char *name)
{
	static const uint8_t zero[16];
	uint64_t wide[2] = {~0ull, ~0ull};
	uint32_t got = 0xdeadbeef;

	if (strcmp(name, "store-16") == 0) {
		store16(VIRTIO_MMIO_STATUS, zero);
		store16(VIRTIO_MMIO_CONFIG, zero);
		printk("selftest mmio %s: status 0x%x cid %u\n", name, reg_get(VIRTIO_MMIO_STATUS),
		       reg_get(VIRTIO_MMIO_CONFIG));
	} else if (strcmp(name, "load-16") == 0) {
		load16(VIRTIO_MMIO_CONFIG, wide);
		printk("selftest mmio %s: 0x%lx 0x%lx\n", name, (unsigned long)wide[0],
		       (unsigned long)wide[1]);
	} else if (strcmp(name, "store-8") == 0) {
		*(volatile uint64_t *)reg_at(VIRTIO_MMIO_STATUS) = 0;
		*(volatile uint64_t *)reg_at(VIRTIO_MMIO_QUEUE_SEL) = 0;
		printk("selftest mmio %s: status 0x%x, 8-byte magic 0x%lx\n", name,
		       reg_get(VIRTIO_MMIO_STATUS),
		       (unsigned long)*(volatile uint64_t *)reg_at(VIRTIO_MMIO_MAGIC_VALUE));
	} else if (strcmp(name, "bytes") == 0) {
		copy_bytes((void *)reg_at(VIRTIO_MMIO_STATUS), zero, 4);
		copy_bytes(&got, (const void *)reg_at(VIRTIO_MMIO_MAGIC_VALUE), 4);
		printk("selftest mmio %s: status 0x%x, magic bytewise 0x%x\n", name,
		       reg_get(VIRTIO_MMIO_STATUS), got);
	} else if (strcmp(name, "unaligned") == 0) {
		*(volatile uint32_t *)reg_at(VIRTIO_MMIO_STATUS + 1) = 0;
		*(volatile uint32_t *)reg_at(VIRTIO_MMIO_INTERRUPT_ACK + 2) = 0;
		*(volatile uint16_t *)reg_at(VIRTIO_MMIO_STATUS) = 0;
		*(volatile uint8_t *)reg_at(VIRTIO_MMIO_STATUS) = 0;
		printk("selftest mmio %s: status 0x%x, magic at +1 0x%x, 16-bit device id %u\n",
		       name, reg_get(VIRTIO_MMIO_STATUS),
		       *(volatile uint32_t *)reg_at(VIRTIO_MMIO_MAGIC_VALUE + 1),
		       *(volatile uint16_t *)reg_at(VIRTIO_MMIO_DEVICE_ID));
	} else if (strcmp(name, "read-only") == 0) {
		mmio_read_only(name);
	} else if (strcmp(name, "write-only") == 0) {
		mmio_write_only(name);
	} else if (strcmp(name, "config-past-end") == 0) {
		mmio_config_past_end(name);
	} else if (strcmp(name, "past-size-read") == 0) {
		got = reg_get(LISPVM_VIRTIO_MMIO_SIZE);
		printk("selftest mmio %s: 0x%x\n", name, got);
	} else if (strcmp(name, "past-size-write") == 0) {
		reg_set(LISPVM_VIRTIO_MMIO_STRIDE - 4, 0);
		printk("selftest mmio %s: went on\n", name);
	} else if (strcmp(name, "move-queues") == 0) {
		move_queue(0, pmem_alloc_zeroed_page());
		move_queue(1, pmem_alloc_zeroed_page());
		printk("selftest mmio %s: ready %u\n", name, reg_get(VIRTIO_MMIO_QUEUE_READY));
	} else if (strcmp(name, "move-queues-outside") == 0) {
		move_queue(0, sym.end);
		move_queue(1, sym.end);
		printk("selftest mmio %s: ready %u\n", name, reg_get(VIRTIO_MMIO_QUEUE_READY));
	} else if (strcmp(name, "ready-toggle") == 0) {
		uint32_t rx = toggle_ready(0), tx = toggle_ready(1);

		printk("selftest mmio %s: ready read %u %u after 0\n", name, rx, tx);
	} else if (strcmp(name, "restart-moved") == 0) {
		/* DRIVER_OK again would start the device on what the
		 * registers say now. */
		uint32_t tx = toggle_ready(1);

		reg_set(VIRTIO_MMIO_STATUS, STATUS_LIVE & ~VIRTIO_CONFIG_S_DRIVER_OK);
		got = reg_get(VIRTIO_MMIO_STATUS);
		reg_set(VIRTIO_MMIO_STATUS, STATUS_LIVE);
		printk("selftest mmio %s: ready read %u after 0, status 0x%x without DRIVER_OK\n",
		       name, tx, got);
	} else if (strcmp(name, "queue-num") == 0) {
		reg_set(VIRTIO_MMIO_QUEUE_SEL, 1);
		reg_set(VIRTIO_MMIO_QUEUE_NUM, 4);
		reg_set(VIRTIO_MMIO_QUEUE_NUM, 3);
		reg_set(VIRTIO_MMIO_QUEUE_NUM, 1024);
		printk("selftest mmio %s: max %u ready %u\n", name,
		       reg_get(VIRTIO_MMIO_QUEUE_NUM_MAX), reg_get(VIRTIO_MMIO_QUEUE_READY));
	} else if (strcmp(name, "features-mid-run") == 0) {
		offer_everything();
		reg_set(VIRTIO_MMIO_STATUS, STATUS_LIVE);
		reg_set(VIRTIO_MMIO_STATUS, STATUS_LIVE & ~VIRTIO_CONFIG_S_FEATURES_OK);
		offer_everything();
		reg_set(VIRTIO_MMIO_STATUS, STATUS_LIVE);
		printk("selftest mmio %s: status 0x%x\n", name, reg_get(VIRTIO_MMIO_STATUS));
	} else if (strcmp(name, "clear-driver-ok") == 0) {
		reg_set(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
		printk("selftest mmio %s: status 0x%x\n", name, reg_get(VIRTIO_MMIO_STATUS));
	} else if (strcmp(name, "notify-out-of-range") == 0) {
		reg_set(VIRTIO_MMIO_QUEUE_NOTIFY, 3);
		reg_set(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
		reg_set(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
		*(volatile uint16_t *)reg_at(VIRTIO_MMIO_QUEUE_NOTIFY) = 1;
		outw(vdev.notify_port, 3);
		outw(vdev.notify_port, 0xffff);
		printk("selftest mmio %s: rung\n", name);
	} else if (strcmp(name, "notify-port-wide") == 0) {
		outl(vdev.notify_port, 1);
		printk("selftest mmio %s: went on\n", name);
	} else if (strcmp(name, "notify-port-byte") == 0) {
		outb(vdev.notify_port, 1);
		printk("selftest mmio %s: went on\n", name);
	} else if (strcmp(name, "notify-port-read") == 0) {
		printk("selftest mmio %s: 0x%x\n", name, inw(vdev.notify_port));
	} else {
		return false;
	}
	return true;
}

/* The guest's connect to the service, from port `from`. */
static void connect_service(uint32_t from)
{
	struct virtio_vsock_hdr *h = phys_to_virt(packet);
	struct virtq_segment seg = {.addr = packet, .len = PACKET_SIZE};

	write_request();
	h->src_port = from;
	h->dst_port = SERVICE_PORT;
	need(virtq_driver_add(&txq.q, &seg, 1) >= 0, "packet queued");
	virtio_mmio_notify(&vdev, 1);
	need(wait_used(&txq), "the request was used");
}

/* The one receive buffer offered at `gpa`, once the device filled it. */
static const struct virtio_vsock_hdr *next_packet(uint64_t gpa)
{
	memset(phys_to_virt(gpa), 0, 2048);
	offer_rx(gpa, 2048);
	need(wait_used(&rxq), "a packet from the device");
	return phys_to_virt(gpa);
}

/* A reset while the host service holds a stream whose bytes the device
 * owes the guest: the device brought up again on new queues delivers
 * nothing of the old stream, and the service, at the guest's next
 * connect, says whether the old stream had closed by then. */
static void mmio_reset_live(void)
{
	const struct virtio_vsock_hdr *h;
	uint16_t op;
	uint32_t port;

	connect_service(GUEST_PORT);
	h = next_packet(sym.buf);
	need(h->op == VIRTIO_VSOCK_OP_RESPONSE, "the service took the stream");
	h = next_packet(sym.buf);
	need(h->op == VIRTIO_VSOCK_OP_RW && h->len > 0 && h->len < SERVICE_BYTES,
	     "part of what the service sent");
	reg_set(VIRTIO_MMIO_STATUS, 0);
	vsock_bring_up();
	connect_service(GUEST_PORT + 1);
	h = next_packet(sym.buf);
	op = h->op;
	port = h->dst_port;
	h = next_packet(sym.buf);
	need(h->len <= 64, "a short answer");
	printk("selftest mmio reset-live: op %u for port %u, then op %u for port %u: '%.*s'\n", op,
	       port, h->op, h->dst_port, (int)h->len, (const char *)(h + 1));
}

/* mmio=CASE: one of the cases above, then (when the VM is still running)
 * a request and its reset. */
static void hostile_mmio(void)
{
	const struct virtio_vsock_hdr *h = phys_to_virt(sym.buf);
	char name[48];

	need(boot_cmdline_get(hostile_bi, "mmio", name, sizeof(name)) == 0, "mmio= given");
	if (strcmp(name, "reset-live") == 0) {
		vsock_bring_up();
		mmio_reset_live();
		return;
	}
	if (strcmp(name, "queue-beyond") == 0) {
		mmio_queue_beyond(name);
		offer_rx(sym.buf, PAGE_SIZE);
	} else if (strcmp(name, "features-unoffered") == 0) {
		mmio_features_unoffered(name);
		offer_rx(sym.buf, PAGE_SIZE);
	} else {
		vsock_bring_up();
		offer_rx(sym.buf, PAGE_SIZE); /* in flight through what follows */
		if (!mmio_mid_run(name))
			panic("selftest: unknown mmio case '%s'", name);
	}
	send_request();
	need(wait_used(&txq), "the packet was used");
	need(wait_used(&rxq), "the reset came back");
	need(h->op == VIRTIO_VSOCK_OP_RST && h->src_port == HOST_PORT, "the reset of the request");
	printk("selftest mmio: then a request and its reset\n");
}

/* virtq=CASE: bring the vsock device up, then break one rule of the
 * split virtqueue (or none: "valid"). */
static void hostile_virtq(void)
{
	char name[48];
	uint64_t far = sym.end;

	need(boot_cmdline_get(hostile_bi, "virtq", name, sizeof(name)) == 0, "virtq= given");
	if (strcmp(name, "mmio") == 0) {
		hostile_mmio();
		return;
	}
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

/* count= on the command line, or dflt. */
static unsigned long flood_count(unsigned long dflt)
{
	char value[24];

	return boot_cmdline_get(hostile_bi, "count", value, sizeof(value)) == 0
		       ? strtoul(value, NULL, 0)
		       : dflt;
}

/* Exits as fast as the guest can make them, each asking for work. */
static void flood_hypercalls(void)
{
	unsigned long n = flood_count(100000);
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
	unsigned long n = flood_count(100000);

	vsock_begin();
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
	unsigned long n = flood_count(100000);

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
	unsigned long n = flood_count(~0ul);
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

bool selftest_hostile_run(const char *name, const struct boot_info *bi)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{"hypercall", raw_hypercall},		{"virtq", hostile_virtq},
		{"flood-hypercalls", flood_hypercalls}, {"flood-doorbells", flood_doorbells},
		{"flood-packets", flood_packets},	{"flood-console", flood_console},
		{"flood-host-files", flood_host_files},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, name) == 0) {
			symbols_init(bi);
			cases[i].fn();
			return true;
		}
	}
	return false;
}
