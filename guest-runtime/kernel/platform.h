/* SPDX-License-Identifier: MIT */
/* What differs between running under lispvm and under a plain PVH loader
 * (QEMU -M microvm): console, exit, fault reports. */
#ifndef GUEST_KERNEL_PLATFORM_H
#define GUEST_KERNEL_PLATFORM_H

#include <stddef.h>

#include <lispvm/abi.h>

enum platform_kind {
	PLATFORM_LISPVM, /* hypercalls to the lispvm VMM */
	PLATFORM_PVH,	 /* 16550 UART at 0x3f8, isa-debug-exit at 0xf4 */
};

void platform_init(enum platform_kind kind);
enum platform_kind platform_kind(void);
const char *platform_name(void);

void platform_console_write(const char *s, size_t len);
_Noreturn void platform_exit(int status);
_Noreturn void platform_report_fault(const struct lispvm_fault_report *report);

#endif
