/* SPDX-License-Identifier: MIT */
/* Selftests in which the guest kernel attacks the VMM (see the .c). */
#ifndef GUEST_KERNEL_SELFTEST_HOSTILE_H
#define GUEST_KERNEL_SELFTEST_HOSTILE_H

#include <stdbool.h>

#include "kernel/boot_info.h"

/* Runs hostile case `name` (hypercall, virtq, flood-hypercalls,
 * flood-doorbells, flood-packets, flood-console, flood-host-files), which
 * reads its own arguments from the command line: false when there is no
 * such case. */
bool selftest_hostile_run(const char *name, const struct boot_info *bi);

#endif
