/* SPDX-License-Identifier: MIT */
/* The split virtqueue, driver end against device end, over guest memory
 * reached through the VMM's checked accessor. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "guest_memory.h"
#include "page_bitmap.h"
#include "virtqueue.h"

#define RAM_GPA	  0x10000ULL
#define RAM_SIZE  0x10000ULL
#define ROM_GPA	  0x40000ULL
#define ROM_SIZE  0x1000ULL
#define RING_SIZE 8

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static uint8_t rom[ROM_SIZE];
static struct guest_memory mem;

static void *access_guest(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	return guest_memory_access(ctx, addr, len, write ? GUEST_WRITE : GUEST_READ);
}

static uint64_t gpa_of(const void *p)
{
	return RAM_GPA + (uint64_t)((const uint8_t *)p - ram);
}

/* A driver queue at the start of RAM and a device bound to it. */
static void setup(struct virtq_driver *drv, struct virtq_device *dev, uint16_t size)
{
	struct virtq_layout l = virtq_layout(size);
	const char *why = NULL;

	memset(ram, 0, sizeof(ram));
	mem = (struct guest_memory){0};
	CHECK(guest_memory_add(&mem, RAM_GPA, RAM_SIZE, ram, true) == 0);
	CHECK(guest_memory_add(&mem, ROM_GPA, ROM_SIZE, rom, false) == 0);
	virtq_driver_init(drv, ram, size);
	CHECK(virtq_device_init(dev, size, RAM_GPA, RAM_GPA + l.avail_off, RAM_GPA + l.used_off,
				access_guest, &mem, &why) == 0);
}

static void test_layout(void)
{
	struct virtq_layout l = virtq_layout(256);

	CHECK(l.avail_off == 4096);
	CHECK(l.used_off == 4096 + 518 + 2); /* rounded up to 4 */
	CHECK(l.total == l.used_off + 6 + 8 * 256);
}

static void test_request_round_trip(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_chain chain;
	const char *why = NULL;
	uint8_t *out = ram + 0x8000, *in = ram + 0x9000;
	struct virtq_segment seg[2] = {{gpa_of(out), 16, false}, {gpa_of(in), 32, true}};
	uint16_t head;
	uint32_t written;
	int h;

	setup(&drv, &dev, RING_SIZE);
	memcpy(out, "request", 8);
	CHECK(virtq_device_pop(&dev, &chain, &why) == VIRTQ_EMPTY);
	CHECK(!virtq_driver_has_used(&drv));
	h = virtq_driver_add(&drv, seg, 2);
	CHECK(h >= 0);
	CHECK(drv.num_free == RING_SIZE - 2);
	CHECK(virtq_device_pop(&dev, &chain, &why) == VIRTQ_CHAIN);
	CHECK(chain.head == h);
	CHECK(chain.count == 2);
	CHECK(chain.buf[0].host == out && !chain.buf[0].device_writes && chain.buf[0].len == 16);
	CHECK(chain.buf[1].host == in && chain.buf[1].device_writes && chain.buf[1].len == 32);
	CHECK(chain.readable_bytes == 16 && chain.writable_bytes == 32);
	CHECK(memcmp(chain.buf[0].host, "request", 8) == 0);
	memcpy(chain.buf[1].host, "reply", 5);
	CHECK(virtq_device_pop(&dev, &chain, &why) == VIRTQ_EMPTY);
	virtq_device_push(&dev, (uint16_t)h, 5);
	CHECK(virtq_driver_has_used(&drv));
	CHECK(virtq_driver_take_used(&drv, &head, &written));
	CHECK(head == h && written == 5);
	CHECK(memcmp(in, "reply", 5) == 0);
	CHECK(drv.num_free == RING_SIZE);
	CHECK(!virtq_driver_take_used(&drv, &head, &written));
}

/* 70000 requests through a 4-entry queue: ring positions wrap every 4,
 * the 16-bit indices once past 65535. */
static void test_wraparound(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_chain chain;
	const char *why = NULL;
	unsigned int bad = 0;

	setup(&drv, &dev, 4);
	for (uint32_t n = 0; n < 70000; n++) {
		struct virtq_segment seg = {gpa_of(ram + 0x8000 + (n % 3) * 64), 64, true};
		uint16_t head;
		uint32_t written;
		int h = virtq_driver_add(&drv, &seg, 1);

		if (h < 0 || virtq_device_pop(&dev, &chain, &why) != VIRTQ_CHAIN ||
		    chain.head != h || chain.buf[0].host != ram + 0x8000 + (n % 3) * 64) {
			bad++;
			break;
		}
		virtq_device_push(&dev, (uint16_t)h, n % 64);
		if (!virtq_driver_take_used(&drv, &head, &written) || head != h ||
		    written != n % 64)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(drv.num_free == 4);
}

static void test_full_queue_refuses(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_segment seg = {gpa_of(ram + 0x8000), 8, true};

	setup(&drv, &dev, 4);
	for (int i = 0; i < 4; i++)
		CHECK(virtq_driver_add(&drv, &seg, 1) >= 0);
	CHECK(virtq_driver_add(&drv, &seg, 1) == -1);
}

/* Each case makes one descriptor-0 request, spoils it, and expects the
 * device to refuse it with a reason containing `expect`. */
struct malformed_case {
	const char *name;
	void (*spoil)(struct virtq_driver *drv);
	const char *expect;
};

static void spoil_loop(struct virtq_driver *drv)
{
	drv->desc[0].flags = VRING_DESC_F_NEXT;
	drv->desc[0].next = 1;
	drv->desc[1] = (struct vring_desc){
		.addr = gpa_of(ram + 0x8000), .len = 8, .flags = VRING_DESC_F_NEXT, .next = 0};
}

static void spoil_outside_ram(struct virtq_driver *drv)
{
	drv->desc[0].addr = RAM_GPA + RAM_SIZE - 4; /* runs 4 bytes past RAM */
}

static void spoil_zero_length(struct virtq_driver *drv)
{
	drv->desc[0].len = 0;
}

static void spoil_write_to_rom(struct virtq_driver *drv)
{
	drv->desc[0].addr = ROM_GPA;
	drv->desc[0].flags = VRING_DESC_F_WRITE;
}

static void spoil_readable_after_writable(struct virtq_driver *drv)
{
	drv->desc[0].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
	drv->desc[0].next = 1;
	drv->desc[1] = (struct vring_desc){.addr = gpa_of(ram + 0x8000), .len = 8};
}

static void spoil_indirect(struct virtq_driver *drv)
{
	drv->desc[0].flags = VRING_DESC_F_INDIRECT;
}

static void spoil_head(struct virtq_driver *drv)
{
	drv->avail->ring[0] = RING_SIZE;
}

static void spoil_next(struct virtq_driver *drv)
{
	drv->desc[0].flags = VRING_DESC_F_NEXT;
	drv->desc[0].next = 200;
}

static void spoil_avail_index(struct virtq_driver *drv)
{
	drv->avail->idx = RING_SIZE + 1;
}

static void test_malformed(void)
{
	static const struct malformed_case cases[] = {
		{"loop", spoil_loop, "looping"},
		{"outside RAM", spoil_outside_ram, "outside guest RAM"},
		{"zero length", spoil_zero_length, "zero-length"},
		{"write to read-only memory", spoil_write_to_rom, "writable buffer outside"},
		{"direction", spoil_readable_after_writable, "readable descriptor after"},
		{"indirect", spoil_indirect, "indirect"},
		{"head", spoil_head, "head outside"},
		{"next", spoil_next, "next descriptor outside"},
		{"available index", spoil_avail_index, "ran more than"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct virtq_driver drv;
		struct virtq_device dev;
		struct virtq_chain chain;
		struct virtq_segment seg = {gpa_of(ram + 0x8000), 8, false};
		const char *why = "";

		setup(&drv, &dev, RING_SIZE);
		CHECK(virtq_driver_add(&drv, &seg, 1) == 0);
		cases[i].spoil(&drv);
		if (virtq_device_pop(&dev, &chain, &why) != VIRTQ_MALFORMED) {
			fprintf(stderr, "malformed case %s was accepted\n", cases[i].name);
			check_failures++;
			continue;
		}
		CHECK_CONTAINS(why, cases[i].expect);
	}
}

/* A chain longer than VIRTQ_MAX_CHAIN in a queue that could hold it. */
static void test_chain_too_long(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_chain chain;
	struct virtq_segment seg[VIRTQ_MAX_CHAIN + 1];
	const char *why = "";

	for (unsigned int i = 0; i <= VIRTQ_MAX_CHAIN; i++)
		seg[i] = (struct virtq_segment){gpa_of(ram + 0x8000 + i * 8), 8, false};
	setup(&drv, &dev, 32);
	CHECK(virtq_driver_add(&drv, seg, VIRTQ_MAX_CHAIN + 1) == 0);
	CHECK(virtq_device_pop(&dev, &chain, &why) == VIRTQ_MALFORMED);
	CHECK_CONTAINS(why, "too long");
}

static void test_init_refuses(void)
{
	struct virtq_device dev;
	const char *why = "";

	mem = (struct guest_memory){0};
	CHECK(guest_memory_add(&mem, RAM_GPA, RAM_SIZE, ram, true) == 0);
	CHECK(guest_memory_add(&mem, ROM_GPA, ROM_SIZE, rom, false) == 0);
	CHECK(virtq_device_init(&dev, 6, RAM_GPA, RAM_GPA + 0x1000, RAM_GPA + 0x2000, access_guest,
				&mem, &why) < 0);
	CHECK_CONTAINS(why, "power of two");
	CHECK(virtq_device_init(&dev, 512, RAM_GPA, RAM_GPA + 0x1000, RAM_GPA + 0x2000,
				access_guest, &mem, &why) < 0);
	CHECK(virtq_device_init(&dev, 8, RAM_GPA + 8, RAM_GPA + 0x1000, RAM_GPA + 0x2000,
				access_guest, &mem, &why) < 0);
	CHECK_CONTAINS(why, "misaligned");
	CHECK(virtq_device_init(&dev, 8, RAM_GPA, RAM_GPA + 0x1000, ROM_GPA, access_guest, &mem,
				&why) < 0);
	CHECK_CONTAINS(why, "outside");
	CHECK(virtq_device_init(&dev, 8, RAM_GPA + RAM_SIZE - 64, RAM_GPA + 0x1000,
				RAM_GPA + 0x2000, access_guest, &mem, &why) < 0);
}

/* A device that returns an id it was never given, or one twice, must not
 * corrupt the driver's free list. */
static void test_driver_ignores_bogus_used(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_chain chain;
	struct virtq_segment seg = {gpa_of(ram + 0x8000), 8, true};
	const char *why = "";
	uint16_t head;
	uint32_t written;

	setup(&drv, &dev, RING_SIZE);
	CHECK(virtq_driver_add(&drv, &seg, 1) == 0);
	CHECK(virtq_device_pop(&dev, &chain, &why) == VIRTQ_CHAIN);
	virtq_device_push(&dev, 5, 1);	 /* never made available */
	virtq_device_push(&dev, 300, 1); /* outside the table */
	virtq_device_push(&dev, 0, 8);
	virtq_device_push(&dev, 0, 8); /* twice */
	CHECK(virtq_driver_take_used(&drv, &head, &written) && head == 0 && written == 8);
	CHECK(!virtq_driver_take_used(&drv, &head, &written));
	CHECK(drv.num_free == RING_SIZE);
}

static bool page_marked(uint64_t gpa)
{
	return page_bitmap_test(mem.regions[0].written, (gpa - RAM_GPA) / 4096);
}

/* A request taken before the VMM's write marks were cleared (a snapshot)
 * and completed after: its buffer and the used ring are marked again, so
 * the next diff holds them. */
static void test_completion_marks_again(void)
{
	struct virtq_driver drv;
	struct virtq_device dev;
	struct virtq_chain chain;
	const char *why = NULL;
	uint8_t *in = ram + 0x9000;
	struct virtq_segment seg = {gpa_of(in), 32, true};
	int h;

	setup(&drv, &dev, RING_SIZE);
	CHECK(guest_memory_track_writes(&mem) == 0);
	h = virtq_driver_add(&drv, &seg, 1);
	CHECK(h >= 0 && virtq_device_pop(&dev, &chain, &why) == VIRTQ_CHAIN);
	CHECK(page_marked(gpa_of(in)));
	guest_memory_forget_writes(&mem);
	CHECK(!page_marked(gpa_of(in)) && !page_marked(dev.used_addr));
	memcpy(chain.buf[0].host, "late", 4);
	virtq_device_complete(&dev, &chain, 4);
	CHECK(page_marked(gpa_of(in)));
	CHECK(page_marked(dev.used_addr));
	guest_memory_free_tracking(&mem);
}

int main(void)
{
	test_layout();
	test_request_round_trip();
	test_wraparound();
	test_full_queue_refuses();
	test_malformed();
	test_chain_too_long();
	test_init_refuses();
	test_driver_ignores_bogus_used();
	test_completion_marks_again();
	return check_result("virtqueue");
}
