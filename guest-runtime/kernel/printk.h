/* SPDX-License-Identifier: MIT */
#ifndef GUEST_KERNEL_PRINTK_H
#define GUEST_KERNEL_PRINTK_H

#include <stdarg.h>

/* Formatted output to the console (see libc/format.c for conversions). */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "guest runtime panic: ..." and stops the VM as a guest crash. */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
