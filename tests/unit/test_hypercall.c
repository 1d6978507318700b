/* SPDX-License-Identifier: MIT */
/* The hypercall dispatcher against hostile requests: every bad address,
 * length or number stops the VM as a guest crash, never touches memory
 * outside guest RAM, and good requests get their result written back. */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "check.h"
#include "hypercall.h"

#define RAM_SIZE  0x10000ULL
#define ROM_GPA	  0x100000ULL
#define REQ_GPA	  0x1000ULL
#define BUF_GPA	  0x2000ULL
#define EXIT_HERE 0x4c

static _Alignas(8) uint8_t ram[RAM_SIZE];
static _Alignas(8) uint8_t rom[4096];
static struct guest_memory mem;
static int console[2];

static struct hypercall_context context(void)
{
	return (struct hypercall_context){.mem = &mem, .console_fd = console[1]};
}

static void put_request(uint64_t gpa, uint32_t nr, uint64_t a0, uint64_t a1)
{
	struct lispvm_hypercall req = {.nr = nr, .ret = 0x7777, .args = {a0, a1}};

	CHECK(guest_memory_write(&mem, gpa, &req, sizeof(req)) == 0 ||
	      guest_memory_access(&mem, gpa, 1, GUEST_WRITE) == NULL);
}

static int64_t request_ret(uint64_t gpa)
{
	struct lispvm_hypercall req;

	CHECK(guest_memory_read(&mem, &req, gpa, sizeof(req)) == 0);
	return req.ret;
}

static void expect_crash(uint32_t gpa)
{
	struct hypercall_context ctx = context();

	hypercall_dispatch(&ctx, gpa);
	CHECK(ctx.stop.kind == VM_STOP_GUEST_CRASH);
	CHECK(ctx.stop.status == LISPVM_EXIT_GUEST_CRASH);
}

static void test_console_write(void)
{
	struct hypercall_context ctx = context();
	char out[16] = {0};

	memcpy(ram + BUF_GPA, "hello", 5);
	put_request(REQ_GPA, LISPVM_HC_CONSOLE_WRITE, BUF_GPA, 5);
	hypercall_dispatch(&ctx, REQ_GPA);
	CHECK(ctx.stop.kind == VM_RUNNING);
	CHECK(request_ret(REQ_GPA) == 5);
	CHECK(read(console[0], out, sizeof(out)) == 5);
	CHECK(memcmp(out, "hello", 5) == 0);

	/* Nothing to write is not an error. */
	put_request(REQ_GPA, LISPVM_HC_CONSOLE_WRITE, 0xdeadbeef000, 0);
	hypercall_dispatch(&ctx, REQ_GPA);
	CHECK(ctx.stop.kind == VM_RUNNING && request_ret(REQ_GPA) == 0);

	/* The last byte of RAM is fine; one past it is not. */
	ram[RAM_SIZE - 1] = '!';
	put_request(REQ_GPA, LISPVM_HC_CONSOLE_WRITE, RAM_SIZE - 1, 1);
	hypercall_dispatch(&ctx, REQ_GPA);
	CHECK(ctx.stop.kind == VM_RUNNING && request_ret(REQ_GPA) == 1);
	CHECK(read(console[0], out, sizeof(out)) == 1 && out[0] == '!');
}

static void test_console_write_bad_buffers(void)
{
	const uint64_t bad[][2] = {
		{RAM_SIZE - 1, 2},	 /* runs off the end of RAM */
		{RAM_SIZE, 1},		 /* just outside */
		{UINT64_MAX, 2},	 /* wraps */
		{BUF_GPA, UINT64_MAX},	 /* wraps */
		{0x7ffffffff000, 64},	 /* nowhere */
		{RAM_SIZE - 8, ROM_GPA}, /* spans the gap into the ROM */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_request(REQ_GPA, LISPVM_HC_CONSOLE_WRITE, bad[i][0], bad[i][1]);
		expect_crash(REQ_GPA);
	}
}

static void test_bad_requests(void)
{
	/* The request itself out of RAM, straddling its end, in the gap. */
	expect_crash(0xfffffff0);
	expect_crash((uint32_t)(RAM_SIZE - sizeof(struct lispvm_hypercall) / 2));
	expect_crash((uint32_t)RAM_SIZE);

	put_request(REQ_GPA, LISPVM_HC_COUNT, 0, 0);
	expect_crash(REQ_GPA);
	put_request(REQ_GPA, UINT32_MAX, 0, 0);
	expect_crash(REQ_GPA);

	struct lispvm_hypercall req = {.nr = LISPVM_HC_CONSOLE_WRITE, .reserved = 1};

	CHECK(guest_memory_write(&mem, REQ_GPA, &req, sizeof(req)) == 0);
	expect_crash(REQ_GPA);

	/* A request in read-only memory cannot take its result back. */
	memcpy(rom, &(struct lispvm_hypercall){.nr = LISPVM_HC_CONSOLE_WRITE}, sizeof(req));
	expect_crash((uint32_t)ROM_GPA);
}

static void test_exit(void)
{
	struct hypercall_context ctx = context();

	put_request(REQ_GPA, LISPVM_HC_EXIT, EXIT_HERE, 0);
	hypercall_dispatch(&ctx, REQ_GPA);
	CHECK(ctx.stop.kind == VM_STOP_EXIT && ctx.stop.status == EXIT_HERE);

	/* Like Linux, only the low 8 bits of the status survive. */
	ctx = context();
	put_request(REQ_GPA, LISPVM_HC_EXIT, 0x1234501, 0);
	hypercall_dispatch(&ctx, REQ_GPA);
	CHECK(ctx.stop.kind == VM_STOP_EXIT && ctx.stop.status == 1);
}

static void test_fault_reports(void)
{
	struct lispvm_fault_report report = {.vector = 14, .rip = 0xffffffff80100000, .cr2 = 8};

	CHECK(guest_memory_write(&mem, BUF_GPA, &report, sizeof(report)) == 0);
	put_request(REQ_GPA, LISPVM_HC_FAULT, BUF_GPA, sizeof(report));
	expect_crash(REQ_GPA);
	put_request(REQ_GPA, LISPVM_HC_FAULT, BUF_GPA, sizeof(report) + 1);
	expect_crash(REQ_GPA);
	put_request(REQ_GPA, LISPVM_HC_FAULT, RAM_SIZE - 8, sizeof(report));
	expect_crash(REQ_GPA);
}

int main(void)
{
	CHECK(pipe2(console, O_NONBLOCK) == 0);
	CHECK(guest_memory_add(&mem, 0, RAM_SIZE, ram, true) == 0);
	CHECK(guest_memory_add(&mem, ROM_GPA, sizeof(rom), rom, false) == 0);
	test_console_write();
	test_console_write_bad_buffers();
	test_bad_requests();
	test_exit();
	test_fault_reports();
	return check_result("hypercall");
}
