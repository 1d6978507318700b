/* SPDX-License-Identifier: MIT */
/*
 * Bulk copies handed to the host where the guest's ring 0 is emulated
 * (nested PVM hosts): there a 4 KiB rep movsq costs about half a
 * millisecond, a LISPVM_HC_COPY exit tens of microseconds.  uaccess_copy
 * (linux/uaccess.h) goes through here; the CPU copies where ring 0 runs
 * natively, for short copies, and for pages that are not resident (so
 * faults are resolved, or end in -EFAULT, exactly as before).
 */
#ifndef GUEST_LINUX_HOST_COPY_H
#define GUEST_LINUX_HOST_COPY_H

#include <stdint.h>

/* Times a 4 KiB copy on the CPU and uses the host when it is slow
 * (needs the clock; under lispvm only). */
void host_copy_init(void);

/* The CPU's copy with fault fixups (linux/uaccess_copy.S): bytes left. */
uint64_t uaccess_copy_cpu(void *dst, const void *src, uint64_t n);

#endif
