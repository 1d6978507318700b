/* SPDX-License-Identifier: MIT */
#include "linux/host_copy.h"

#include <stdbool.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "kernel/clock.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/paging.h"
#include "kernel/platform.h"
#include "linux/process.h"
#include "linux/uaccess.h"

/* Below this the exit (about 45 us on a kvm_pvm host, with the page-table
 * walks) costs more than the CPU's copy, even emulated (about 150 us per
 * KiB there). */
#define HOST_COPY_MIN 512
/* A native 4 KiB copy takes well under a microsecond; an emulated one
 * hundreds. */
#define SLOW_COPY_NS 20000

static bool host_copies;
/* In the kernel image, so physically contiguous; the kernel runs with
 * interrupts off and empties it before anything can nest. */
static struct lispvm_copy_segment segments[LISPVM_COPY_MAX_SEGMENTS];

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

/* The guest-physical address of va, if the copy may use it now: kernel
 * memory, or a present user page (writable when written). */
static bool physical(uint64_t va, bool write, uint64_t *phys)
{
	const struct process *p;
	uint64_t *pte;

	if (va >= KERNEL_VMA) {
		*phys = va - KERNEL_VMA;
		return true;
	}
	if (va >= DIRECT_MAP_BASE && va - DIRECT_MAP_BASE < DIRECT_MAP_SIZE) {
		*phys = va - DIRECT_MAP_BASE;
		return true;
	}
	if (va >= USER_SPACE_END || (p = current_process()) == NULL)
		return false;
	pte = paging_pte(p->mm.pml4, va & ~(uint64_t)(PAGE_SIZE - 1), 0);
	if (pte == NULL || !(*pte & PTE_PRESENT) || !(*pte & PTE_USER) ||
	    (write && !(*pte & PTE_WRITE)))
		return false;
	*phys = (*pte & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1));
	return true;
}

static void flush(unsigned int *count)
{
	if (*count != 0)
		hypercall(LISPVM_HC_COPY, virt_to_phys(segments), *count);
	*count = 0;
}

/* Adds [src, src + len) -> dst, joining it to the last segment when both
 * sides continue it. */
static void add_segment(unsigned int *count, uint64_t dst, uint64_t src, uint64_t len)
{
	if (*count > 0) {
		struct lispvm_copy_segment *last = &segments[*count - 1];

		if (last->dst + last->len == dst && last->src + last->len == src) {
			last->len += len;
			return;
		}
	}
	if (*count == LISPVM_COPY_MAX_SEGMENTS)
		flush(count);
	segments[(*count)++] = (struct lispvm_copy_segment){.dst = dst, .src = src, .len = len};
}

uint64_t uaccess_copy(void *dst, const void *src, uint64_t n)
{
	uint64_t d = (uint64_t)dst, s = (uint64_t)src, left = n;
	unsigned int count = 0;

	if (!host_copies || n < HOST_COPY_MIN)
		return uaccess_copy_cpu(dst, src, n);
	while (left > 0) {
		uint64_t chunk = PAGE_SIZE - (d & (PAGE_SIZE - 1)), pd, ps;

		if (chunk > PAGE_SIZE - (s & (PAGE_SIZE - 1)))
			chunk = PAGE_SIZE - (s & (PAGE_SIZE - 1));
		if (chunk > left)
			chunk = left;
		if (physical(d, true, &pd) && physical(s, false, &ps)) {
			add_segment(&count, pd, ps, chunk);
		} else {
			uint64_t rest;

			flush(&count);
			rest = uaccess_copy_cpu((void *)d, (const void *)s, chunk);
			if (rest != 0)
				return left - (chunk - rest);
		}
		d += chunk;
		s += chunk;
		left -= chunk;
	}
	flush(&count);
	return 0;
}
