/* SPDX-License-Identifier: MIT */
/*
 * The snapshot point, /dev/lispvm-snapshot (`lispvm prepare`): a read from
 * offset 0 asks the VMM to save the VM (LISPVM_HC_SNAPSHOT); reads further
 * on return the rest of the invocation.  A restored VM can so take another
 * snapshot (`prepare --snapshot`: a diff).  In the VM that
 * prepare runs, that read never returns; in every VM restored from the
 * file it returns the restoring command's invocation, after the guest has
 * taken up its mounts, terminal, cwd and the wall clock:
 *
 *     ARGC NUL ARGV[0] NUL ... ENVC NUL ENV[0] NUL ... CWD NUL
 *
 * (counts in decimal).  Where no snapshot can be taken the read fails:
 * ENODEV (not under lispvm prepare), EBUSY (host files are open).
 */
#ifndef GUEST_LINUX_SNAPSHOT_POINT_H
#define GUEST_LINUX_SNAPSHOT_POINT_H

#include <stdint.h>

#include "kernel/boot_info.h"

/* Remembers where the boot data are, to read them again after a restore. */
void snapshot_point_init(const struct boot_info *bi);

/* read(2) of the device at offset off into the user buffer. */
int64_t snapshot_point_read(void *buf, uint64_t len, uint64_t off);

#endif
