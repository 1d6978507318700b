/* SPDX-License-Identifier: MIT */
/*
 * The hypercall dispatcher (vmm/hypercall.c) against a hostile guest: an
 * input is a script of steps, each either storing bytes in guest memory
 * (lists, fault reports, page tables for COPY_VIRTUAL) or making one
 * hypercall: any number (valid ones, LISPVM_HC_COUNT, 2^32 - 1), a
 * reserved field that may be non-zero, the request anywhere (straddling a
 * region, in read-only memory, across 4 GiB) and every argument near an
 * edge of the memory map.  The guard pages around each region catch any
 * access the checked accessor should have refused.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "dirty_log.h"
#include "fuzz_guest_memory.h"
#include "hostfs.h"
#include "hypercall.h"

#define MAX_STEPS 64

/* Sanitizer reports go to a copy of stderr: the harness points fd 2 at
 * /dev/null while the guest writes "its" stderr. */
void __sanitizer_set_report_fd(void *fd);

static struct fuzz_guest guest;
static struct hostfs no_mounts; /* HOSTFS gets as far as the mount number */
static int devnull, real_stderr;
static FILE *devnull_file;

/* Never called: the harness gives the dispatcher no dirty log (it needs
 * KVM), so GC_DONE takes its other branch. */
void dirty_log_gc_done(struct dirty_log *log)
{
	(void)log;
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_guest_init(&guest);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	devnull_file = fdopen(dup(devnull), "w");
	real_stderr = dup(STDERR_FILENO);
	if (devnull < 0 || devnull_file == NULL || real_stderr < 0) {
		perror("fuzz_hypercall");
		abort();
	}
	__sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
	/* STDIO_READ reads end-of-file at once; STDIO_WRITE to stdout goes
	 * nowhere (libFuzzer writes only to stderr). */
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	return 0;
}

static uint32_t pick_nr(struct fuzz_input *in)
{
	uint8_t b = fuzz_u8(in);

	if (b == 0xff)
		return UINT32_MAX;
	return b % (LISPVM_HC_COUNT + 1); /* LISPVM_HC_COUNT itself is unknown */
}

static void hypercall(struct fuzz_input *in)
{
	uint8_t how = fuzz_u8(in);
	uint32_t gpa = (uint32_t)fuzz_edge(in);
	struct lispvm_hypercall req = {0};
	struct hypercall_context ctx = {
		.mem = &guest.mem,
		.console_fd = devnull,
		.hostfs = how & 2 ? &no_mounts : NULL,
		.takes_snapshot = how & 4,
	};
	bool guest_stderr;
	FILE *saved = stderr;

	req.nr = pick_nr(in);
	req.reserved = how & 1 ? fuzz_u32(in) : 0;
	guest_stderr = req.nr == LISPVM_HC_STDIO_WRITE;
	for (int i = 0; i < 6; i++)
		req.args[i] = fuzz_edge(in);
	fuzz_guest_put(&guest, gpa, &req, sizeof(req));
	/* FAULT prints the guest's report on the VMM's stderr. */
	stderr = devnull_file;
	if (guest_stderr)
		dup2(devnull, STDERR_FILENO);
	hypercall_dispatch(&ctx, gpa);
	if (guest_stderr)
		dup2(real_stderr, STDERR_FILENO);
	stderr = saved;
	if (ctx.stop.kind == VM_STOP_GUEST_CRASH && ctx.stop.status != LISPVM_EXIT_GUEST_CRASH)
		fuzz_fail("a guest crash without its exit status");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};

	fuzz_guest_reset(&guest);
	for (int step = 0; step < MAX_STEPS && !fuzz_done(&in); step++) {
		if (fuzz_u8(&in) & 1) {
			hypercall(&in);
		} else {
			uint64_t gpa = fuzz_edge(&in);
			const uint8_t *bytes;
			size_t n = fuzz_take(&in, fuzz_u8(&in), &bytes);

			fuzz_guest_put(&guest, gpa, bytes, n);
		}
	}
	return 0;
}
