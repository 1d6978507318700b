/* SPDX-License-Identifier: MIT */
#include "fuzz_guest_kernel.h"

#include <asm/prctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
