/* SPDX-License-Identifier: MIT */
/* Selftests in which the guest kernel attacks the VMM (see the .c). */
#ifndef GUEST_KERNEL_SELFTEST_HOSTILE_H
#define GUEST_KERNEL_SELFTEST_HOSTILE_H

#include "kernel/boot_info.h"

/* Runs hostile case `name` (hypercall, virtq, flood-hypercalls,
 * flood-doorbells, flood-packets, flood-console, flood-host-files); panics on an unknown name. */
void selftest_hostile_run(const char *name, const struct boot_info *bi);

#endif
