/* SPDX-License-Identifier: MIT */
/*
 * The console device with its thread, driven the way the guest drives it:
 * registers through the transport, requests through a driver-side queue
 * in fake guest RAM, notifications and interrupts through the device's
 * eventfds (which KVM would signal), stdin and stdout as pipes.
 */
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "check.h"
#include "guest_memory.h"
#include "virtio_console.h"
#include "virtqueue.h"

#define RAM_GPA	 0x10000ULL
#define RAM_SIZE 0x10000ULL
#define RX_RING	 0x0000 /* offsets in RAM */
#define TX_RING	 0x1000
#define RX_BUF	 0x8000
#define TX_BUF	 0x9000
#define QSIZE	 2
/* Only a guard against a hang; nothing here is timed. */
#define WAIT_MS 10000

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

struct rig {
	struct guest_memory mem;
	struct virtio_console con;
	struct virtq_driver rx, tx;
	int in[2], out[2]; /* stdin and stdout pipes */
};

static uint32_t reg_read(struct rig *r, uint64_t off)
{
	uint32_t v = 0;
	const char *why = NULL;

	virtio_mmio_access(&r->con.mmio, LISPVM_VIRTIO_MMIO_BASE + off, (uint8_t *)&v, 4, false,
			   &why);
	return v;
}

static int reg_write(struct rig *r, uint64_t off, uint32_t v, const char **why)
{
	return virtio_mmio_access(&r->con.mmio, LISPVM_VIRTIO_MMIO_BASE + off, (uint8_t *)&v, 4,
				  true, why);
}

static void set_status(struct rig *r, uint32_t bits)
{
	const char *why;

	reg_write(r, VIRTIO_MMIO_STATUS, reg_read(r, VIRTIO_MMIO_STATUS) | bits, &why);
}

static void rig_open(struct rig *r)
{
	char err[128] = "";

	memset(ram, 0, sizeof(ram));
	r->mem = (struct guest_memory){0};
	CHECK(guest_memory_add(&r->mem, RAM_GPA, RAM_SIZE, ram, true) == 0);
	CHECK(pipe(r->in) == 0 && pipe(r->out) == 0);
	CHECK(virtio_console_open(&r->con, &r->mem, LISPVM_VIRTIO_MMIO_BASE, r->in[0], r->out[1],
				  err, sizeof(err)) == 0);
}

static void rig_close(struct rig *r)
{
	virtio_console_close(&r->con);
	for (int i = 0; i < 2; i++) {
		if (r->in[i] >= 0)
			close(r->in[i]);
		close(r->out[i]);
	}
}

static void negotiate(struct rig *r, uint32_t high_features)
{
	const char *why;

	reg_write(r, VIRTIO_MMIO_STATUS, 0, &why);
	set_status(r, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1, &why);
	reg_write(r, VIRTIO_MMIO_DRIVER_FEATURES, high_features, &why);
	set_status(r, VIRTIO_CONFIG_S_FEATURES_OK);
}

static void give_queue(struct rig *r, unsigned int index, uint64_t desc_gpa, uint64_t avail_gpa,
		       uint64_t used_gpa)
{
	const char *why;

	reg_write(r, VIRTIO_MMIO_QUEUE_SEL, index, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_NUM, QSIZE, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc_gpa, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc_gpa >> 32), &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail_gpa, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used_gpa, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_USED_HIGH, 0, &why);
	reg_write(r, VIRTIO_MMIO_QUEUE_READY, 1, &why);
}

static void give_driver_queue(struct rig *r, struct virtq_driver *q, unsigned int index,
			      uint64_t off)
{
	struct virtq_layout l = virtq_layout(QSIZE);

	virtq_driver_init(q, ram + off, QSIZE);
	give_queue(r, index, RAM_GPA + off, RAM_GPA + off + l.avail_off,
		   RAM_GPA + off + l.used_off);
}

/* The guest's bring-up: 0 when DRIVER_OK was accepted. */
static int bring_up(struct rig *r)
{
	const char *why = NULL;

	negotiate(r, 1u << (VIRTIO_F_VERSION_1 - 32));
	give_driver_queue(r, &r->rx, LISPVM_VIRTIO_CONSOLE_RX, RX_RING);
	give_driver_queue(r, &r->tx, LISPVM_VIRTIO_CONSOLE_TX, TX_RING);
	return reg_write(r, VIRTIO_MMIO_STATUS,
			 reg_read(r, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK, &why);
}

static void notify(struct rig *r)
{
	uint64_t one = 1;

	CHECK(write(r->con.notify_fd, &one, sizeof(one)) == sizeof(one));
}

static bool wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, WAIT_MS) == 1;
}

/* Waits for the device's interrupt and takes the finished request. */
static bool wait_used(struct rig *r, struct virtq_driver *q, uint32_t *written)
{
	uint64_t count;
	uint16_t head;

	for (int tries = 0; tries < 100; tries++) {
		if (virtq_driver_take_used(q, &head, written))
			return true;
		if (!wait_readable(r->con.irq_fd))
			return false;
		CHECK(read(r->con.irq_fd, &count, sizeof(count)) == sizeof(count));
	}
	return false;
}

static void post_receive(struct rig *r, uint32_t len)
{
	struct virtq_segment seg = {RAM_GPA + RX_BUF, len, true};

	CHECK(virtq_driver_add(&r->rx, &seg, 1) >= 0);
	notify(r);
}

static void test_registers(void)
{
	struct rig r;
	const char *why;

	rig_open(&r);
	CHECK(reg_read(&r, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
	CHECK(reg_read(&r, VIRTIO_MMIO_VERSION) == 2);
	CHECK(reg_read(&r, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE);
	reg_write(&r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1, &why);
	CHECK(reg_read(&r, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	reg_write(&r, VIRTIO_MMIO_QUEUE_SEL, 0, &why);
	CHECK(reg_read(&r, VIRTIO_MMIO_QUEUE_NUM_MAX) == VIRTQ_MAX_SIZE);
	reg_write(&r, VIRTIO_MMIO_QUEUE_SEL, 2, &why);
	CHECK(reg_read(&r, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0); /* no third queue */
	/* A driver that does not speak virtio 1 is refused FEATURES_OK. */
	negotiate(&r, 0);
	CHECK(!(reg_read(&r, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	negotiate(&r, 1u << (VIRTIO_F_VERSION_1 - 32));
	CHECK(reg_read(&r, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	rig_close(&r);
}

static void test_receive(void)
{
	struct rig r;
	uint32_t written = 99;
	char rest[16] = "";

	rig_open(&r);
	CHECK(bring_up(&r) == 0);
	post_receive(&r, 64);
	CHECK(write(r.in[1], "hello", 5) == 5);
	CHECK(wait_used(&r, &r.rx, &written) && written == 5);
	CHECK(memcmp(ram + RX_BUF, "hello", 5) == 0);
	CHECK(reg_read(&r, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	/* Never more than the buffer the guest offered: the rest of the
	 * input stays in the pipe for whoever reads it next. */
	CHECK(write(r.in[1], "abcdef", 6) == 6);
	post_receive(&r, 3);
	CHECK(wait_used(&r, &r.rx, &written) && written == 3);
	CHECK(memcmp(ram + RX_BUF, "abc", 3) == 0);
	CHECK(read(r.in[0], rest, sizeof(rest)) == 3 && memcmp(rest, "def", 3) == 0);
	/* End of input: a request back with nothing written. */
	close(r.in[1]);
	r.in[1] = -1;
	post_receive(&r, 64);
	CHECK(wait_used(&r, &r.rx, &written) && written == 0);
	rig_close(&r);
}

static void test_transmit(void)
{
	struct rig r;
	uint32_t written = 99;
	struct virtq_segment seg = {RAM_GPA + TX_BUF, 4, false};
	char got[8] = "";

	rig_open(&r);
	CHECK(bring_up(&r) == 0);
	memcpy(ram + TX_BUF, "out!", 4);
	CHECK(virtq_driver_add(&r.tx, &seg, 1) >= 0);
	notify(&r);
	CHECK(wait_used(&r, &r.tx, &written) && written == 0);
	CHECK(read(r.out[0], got, sizeof(got)) == 4 && memcmp(got, "out!", 4) == 0);
	rig_close(&r);
}

/* A queue the device cannot use stops it at DRIVER_OK, with a reason. */
static void test_bad_queue_at_driver_ok(void)
{
	struct rig r;
	const char *why = NULL;
	struct virtq_layout l = virtq_layout(QSIZE);

	rig_open(&r);
	negotiate(&r, 1u << (VIRTIO_F_VERSION_1 - 32));
	give_driver_queue(&r, &r.rx, LISPVM_VIRTIO_CONSOLE_RX, RX_RING);
	give_queue(&r, LISPVM_VIRTIO_CONSOLE_TX, RAM_GPA + RAM_SIZE - 16, RAM_GPA + l.avail_off,
		   RAM_GPA + l.used_off);
	CHECK(reg_write(&r, VIRTIO_MMIO_STATUS,
			reg_read(&r, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK, &why) < 0);
	CHECK(why != NULL);
	if (why != NULL)
		CHECK_CONTAINS(why, "outside guest RAM");
	CHECK(reg_read(&r, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	rig_close(&r);
}

/* A ring the guest breaks while the device runs ends the device with a
 * reason (the VMM then stops the VM); nothing is read or written. */
static void test_malformed_ring(void)
{
	struct rig r;
	const char *failure = NULL;

	rig_open(&r);
	CHECK(bring_up(&r) == 0);
	r.rx.avail->idx = 7; /* more requests than the queue holds */
	notify(&r);
	for (int i = 0; i < WAIT_MS && (failure = virtio_console_failure(&r.con)) == NULL; i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	CHECK(failure != NULL);
	if (failure != NULL)
		CHECK_CONTAINS(failure, "ran more than the queue size ahead");
	rig_close(&r);
}

/* Reset: the device lets go of the queues, which may be set up again. */
static void test_reset(void)
{
	struct rig r;
	uint32_t written = 99;
	const char *why;

	rig_open(&r);
	CHECK(bring_up(&r) == 0);
	reg_write(&r, VIRTIO_MMIO_STATUS, 0, &why);
	CHECK(reg_read(&r, VIRTIO_MMIO_STATUS) == 0);
	reg_write(&r, VIRTIO_MMIO_QUEUE_SEL, 0, &why);
	CHECK(reg_read(&r, VIRTIO_MMIO_QUEUE_READY) == 0);
	CHECK(bring_up(&r) == 0);
	CHECK(write(r.in[1], "again", 5) == 5);
	post_receive(&r, 64);
	CHECK(wait_used(&r, &r.rx, &written) && written == 5);
	rig_close(&r);
}

int main(void)
{
	test_registers();
	test_receive();
	test_transmit();
	test_bad_queue_at_driver_ok();
	test_malformed_ring();
	test_reset();
	return check_result("virtio_console");
}
