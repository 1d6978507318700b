/* SPDX-License-Identifier: MIT */
/* Formatting into buffers; the kernel's printk sits on top. */
#ifndef GUEST_STDIO_H
#define GUEST_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
