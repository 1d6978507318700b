/* SPDX-License-Identifier: MIT */
#include "linux/host_copy.h"

#include <stdbool.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "kernel/clock.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/platform.h"
#include "linux/uaccess.h"

/* Below this the exit (tens of microseconds on a kvm_pvm host) costs
 * more than the CPU's copy, even emulated (about 150 us per KiB there). */
#define HOST_COPY_MIN 512
/* A native 4 KiB copy takes well under a microsecond; an emulated one
 * hundreds. */
#define SLOW_COPY_NS 20000

static bool host_copies;

void host_copy_init(void)
{
	static uint64_t from[PAGE_SIZE / 8], to[PAGE_SIZE / 8];
	uint64_t hz = clock_tsc_hz(), start, cycles;

	if (platform_kind() != PLATFORM_LISPVM || hz == 0)
		return;
	start = rdtsc();
	uaccess_copy_cpu(to, from, PAGE_SIZE);
	cycles = rdtsc() - start;
	host_copies = cycles * 1000000000ull / hz > SLOW_COPY_NS;
}

static bool is_user(uint64_t va)
{
	return va < USER_SPACE_END;
}

/* The host copies what it can in one exit, walking our page tables
 * itself; a page it cannot use (not present, read-only, not the user's)
 * is copied on the CPU, whose fault handling pages it in or reports it. */
uint64_t uaccess_copy(void *dst, const void *src, uint64_t n)
{
	uint64_t d = (uint64_t)dst, s = (uint64_t)src, left = n, cr3;

	if (!host_copies || n < HOST_COPY_MIN)
		return uaccess_copy_cpu(dst, src, n);
	cr3 = read_cr3() & ~(uint64_t)(PAGE_SIZE - 1);
	while (left > 0) {
		uint64_t flags = (is_user(d) ? LISPVM_COPY_DST_USER : 0) |
				 (is_user(s) ? LISPVM_COPY_SRC_USER : 0),
			 done = (uint64_t)hypercall5(LISPVM_HC_COPY_VIRTUAL, d, s, left, cr3,
						     flags),
			 chunk, rest;

		if (done > left)
			done = left; /* a broken host: trust the CPU for the rest */
		d += done;
		s += done;
		left -= done;
		if (left == 0)
			break;
		chunk = PAGE_SIZE - (d & (PAGE_SIZE - 1));
		if (chunk > PAGE_SIZE - (s & (PAGE_SIZE - 1)))
			chunk = PAGE_SIZE - (s & (PAGE_SIZE - 1));
		if (chunk > left)
			chunk = left;
		rest = uaccess_copy_cpu((void *)d, (const void *)s, chunk);
		if (rest != 0)
			return left - (chunk - rest);
		d += chunk;
		s += chunk;
		left -= chunk;
	}
	return 0;
}
