/* SPDX-License-Identifier: MIT */
#include "fuzz_guest_kernel.h"

#include "arch/x86/layout.h" /* DIRECT_MAP_BASE */

#include <asm/prctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static jmp_buf *panic_return;

static bool verbose(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_VERBOSE") != NULL;
	return on;
}

void *kmalloc(size_t size)
{
	return malloc(size);
}

void *kzalloc(size_t size)
{
	return calloc(1, size);
}

void kfree(void *p)
{
	free(p);
}

/* Pages by "physical" address: what phys_to_virt() turns back into
 * this host address (see fuzz_fdt_boot_info.c). */
uint64_t pmem_alloc_zeroed_page(void)
{
	void *page = aligned_alloc(4096, 4096);

	if (page == NULL)
		return 0;
	memset(page, 0, 4096);
	return (uint64_t)page - DIRECT_MAP_BASE;
}

void pmem_free_pages(uint64_t phys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)(phys + DIRECT_MAP_BASE + i * 4096));
}

/* A clock that only moves forward, by a microsecond a call. */
uint64_t clock_realtime_ns(void)
{
	static uint64_t now = 1700000000000000000ull;

	return now += 1000;
}

void printk(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (verbose())
		fputs(line, stderr);
}

_Noreturn void panic(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (verbose() || panic_return == NULL)
		fprintf(stderr, "guest runtime panic: %s\n", line);
	if (panic_return == NULL)
		abort();
	longjmp(*panic_return, 1);
}

int fuzz_guest_try(void (*fn)(void *), void *arg)
{
	jmp_buf here;
	int rc = 0;

	if (setjmp(here) == 0) {
		panic_return = &here;
		fn(arg);
	} else {
		rc = -1;
	}
	panic_return = NULL;
	return rc;
}

void fuzz_guest_set_gs(void *percpu)
{
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, percpu) != 0) {
		perror("arch_prctl(ARCH_SET_GS)");
		abort();
	}
}
