/* SPDX-License-Identifier: MIT */
#include "kernel/printk.h"

#include <stdio.h>
#include <string.h>

#include "kernel/platform.h"
#include "kernel/spinlock.h"

#define PRINTK_LINE_MAX 512

static struct spinlock console_lock;

static void vprintk(const char *prefix, const char *fmt, va_list ap)
{
	char buf[PRINTK_LINE_MAX];
	size_t len = strlen(prefix);
	int n;

	memcpy(buf, prefix, len);
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	len += (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;
	spin_lock(&console_lock);
	platform_console_write(buf, len);
	spin_unlock(&console_lock);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk("", fmt, ap);
	va_end(ap);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk("guest runtime panic: ", fmt, ap);
	va_end(ap);
	platform_console_write("\n", 1);
	platform_exit(LISPVM_EXIT_GUEST_CRASH);
}

/* libfdt is built with -fstack-protector (percpu.h). */
_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void)
{
	panic("stack smashing detected");
}
