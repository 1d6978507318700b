/* SPDX-License-Identifier: MIT */
/* In-guest checks and deliberate failures, chosen with selftest=NAME on
 * the guest command line (the kvm and qemu test suites use them). */
#ifndef GUEST_KERNEL_SELFTEST_H
#define GUEST_KERNEL_SELFTEST_H

#include "kernel/boot_info.h"

/* Runs the named test; returns only if it passed. Unknown names panic. */
void selftest_run(const char *name, const struct boot_info *bi);

#endif
