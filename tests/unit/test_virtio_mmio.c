/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio register file on its own: identification, the device
 * configuration space in every width, a third queue (vsock needs rx, tx
 * and event), that the driver cannot write the configuration, and that a
 * started device keeps its queues and status bits until a reset.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdint.h>
#include <string.h>

#include <lispvm/abi.h>

#include "check.h"
#include "virtio_mmio.h"

#define BASE LISPVM_VIRTIO_MMIO_BASE

static int started, resets;

static int start(void *dev, const struct virtio_mmio_queue *queues, unsigned int nr,
		 const char **why)
{
	(void)dev, (void)queues, (void)nr, (void)why;
	started++;
	return 0;
}

static void reset(void *dev)
{
	(void)dev;
	resets++;
}

static const struct virtio_mmio_device_ops ops = {.start = start, .reset = reset};

static uint64_t read_n(struct virtio_mmio *m, uint64_t off, uint32_t len)
{
	uint64_t v = 0;
	const char *why = NULL;

	CHECK(virtio_mmio_access(m, BASE + off, (uint8_t *)&v, len, false, &why) == 0);
	return v;
}

static void write32(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	const char *why = NULL;

	CHECK(virtio_mmio_access(m, BASE + off, (uint8_t *)&v, 4, true, &why) == 0);
}

static void test_config_space(void)
{
	struct virtio_mmio m;
	/* A vsock-like configuration: guest_cid, little-endian u64. */
	uint8_t config[8] = {0x2a, 0x01, 0, 0, 0, 0, 0, 0x80};

	virtio_mmio_init(&m, BASE, 19, 0, 3, &ops, NULL);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG, 8) == 0); /* none yet */
	virtio_mmio_set_config(&m, config, sizeof(config));
	CHECK(read_n(&m, VIRTIO_MMIO_MAGIC_VALUE, 4) == 0x74726976);
	CHECK(read_n(&m, VIRTIO_MMIO_DEVICE_ID, 4) == 19);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG, 8) == 0x800000000000012aull);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG, 4) == 0x12a);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 4, 4) == 0x80000000u);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 1, 2) == 0x01);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 7, 1) == 0x80);
	/* Past its end: zero, also for a read that straddles the end. */
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 8, 4) == 0);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 6, 4) == 0x8000);
	CHECK(read_n(&m, VIRTIO_MMIO_CONFIG + 0xfc, 4) == 0);
	/* The driver cannot change it. */
	write32(&m, VIRTIO_MMIO_CONFIG, 0xffffffff);
	CHECK(config[0] == 0x2a && read_n(&m, VIRTIO_MMIO_CONFIG, 4) == 0x12a);
}

static void test_three_queues(void)
{
	struct virtio_mmio m;

	virtio_mmio_init(&m, BASE, 19, 0, 3, &ops, NULL);
	for (uint32_t q = 0; q < 3; q++) {
		write32(&m, VIRTIO_MMIO_QUEUE_SEL, q);
		CHECK(read_n(&m, VIRTIO_MMIO_QUEUE_NUM_MAX, 4) > 0);
		write32(&m, VIRTIO_MMIO_QUEUE_NUM, 8);
		write32(&m, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK(read_n(&m, VIRTIO_MMIO_QUEUE_READY, 4) == 1);
	}
	write32(&m, VIRTIO_MMIO_QUEUE_SEL, 3);
	CHECK(read_n(&m, VIRTIO_MMIO_QUEUE_NUM_MAX, 4) == 0);
	CHECK(m.queues[2].num == 8 && m.queues[2].ready);
	write32(&m, VIRTIO_MMIO_STATUS, 0);
	CHECK(resets == 1 && !m.queues[2].ready);
}

/* After DRIVER_OK the driver can neither take a queue back nor start the
 * device again: a second start would replace the queues of a device still
 * serving them (with half-set ones, when it failed). */
static void test_started_device_holds(void)
{
	struct virtio_mmio m;
	const uint32_t live = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	virtio_mmio_init(&m, BASE, 19, 0, 3, &ops, NULL);
	write32(&m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	write32(&m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	write32(&m, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	write32(&m, VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	write32(&m, VIRTIO_MMIO_QUEUE_SEL, 1);
	write32(&m, VIRTIO_MMIO_QUEUE_NUM, 8);
	write32(&m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	write32(&m, VIRTIO_MMIO_QUEUE_READY, 1);
	write32(&m, VIRTIO_MMIO_STATUS, live);
	CHECK(started == 1 && read_n(&m, VIRTIO_MMIO_STATUS, 4) == live);

	write32(&m, VIRTIO_MMIO_QUEUE_READY, 0);
	write32(&m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x2000);
	write32(&m, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK(read_n(&m, VIRTIO_MMIO_QUEUE_READY, 4) == 1);
	CHECK(m.queues[1].desc == 0x1000 && m.queues[1].num == 8);
	/* Not ready before DRIVER_OK: taken neither. */
	write32(&m, VIRTIO_MMIO_QUEUE_SEL, 2);
	write32(&m, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(read_n(&m, VIRTIO_MMIO_QUEUE_READY, 4) == 0);

	/* Clearing a bit is ignored, so DRIVER_OK never comes again. */
	write32(&m, VIRTIO_MMIO_STATUS, live & ~VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(read_n(&m, VIRTIO_MMIO_STATUS, 4) == live);
	write32(&m, VIRTIO_MMIO_STATUS, live & ~VIRTIO_CONFIG_S_FEATURES_OK);
	write32(&m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	write32(&m, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	write32(&m, VIRTIO_MMIO_STATUS, live);
	CHECK(started == 1 && read_n(&m, VIRTIO_MMIO_STATUS, 4) == live);
	CHECK(m.driver_features == 1ull << 32);
	write32(&m, VIRTIO_MMIO_STATUS, live | VIRTIO_CONFIG_S_FAILED);
	CHECK(read_n(&m, VIRTIO_MMIO_STATUS, 4) == (live | VIRTIO_CONFIG_S_FAILED));

	/* A reset frees them all. */
	resets = 0;
	write32(&m, VIRTIO_MMIO_STATUS, 0);
	write32(&m, VIRTIO_MMIO_QUEUE_SEL, 1);
	write32(&m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x2000);
	CHECK(resets == 1 && m.queues[1].desc == 0x2000 && read_n(&m, VIRTIO_MMIO_STATUS, 4) == 0);
}

int main(void)
{
	test_config_space();
	test_three_queues();
	CHECK(started == 0);
	test_started_device_holds();
	return check_result("virtio_mmio");
}
