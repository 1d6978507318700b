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

#include <stdbool.h>
#include <stdint.h>

#include "kernel/boot_info.h"

/* Remembers where the boot data are, to read them again after a restore. */
void snapshot_point_init(const struct boot_info *bi);

/* read(2) of the device at offset off into the user buffer. */
int64_t snapshot_point_read(void *buf, uint64_t len, uint64_t off);

/*
 * /dev/lispvm-resumed: a read at offset N waits until the VM has been
 * resumed from a snapshot of it running (`lispvm snapshot`) more than N
 * times, then returns a newline for each resume past N.  So a thread that
 * reads it line by line (the attach agent) wakes once per resume and can
 * make what must differ between resumed copies differ: SBCL's
 * *random-state*.  The guest learns of a resume from the vsock device's
 * transport reset, the one event a resumed VM gets.
 */
void snapshot_point_resumed(void);
/* Whether this VM was restored from a snapshot (prepared or running) at
 * least once: its process is then one of many copies of one process. */
bool snapshot_point_was_restored(void);
int64_t snapshot_point_resumed_read(void *buf, uint64_t len, uint64_t off, bool nonblock);
/* Whether a read at off would not wait (for poll). */
bool snapshot_point_resumed_past(uint64_t off);

#endif
