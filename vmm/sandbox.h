/* SPDX-License-Identifier: MIT */
/* What the VMM gives up before it runs guest code.  Today: no new
 * privileges (no setuid gain through exec).  The seccomp allowlist of the
 * design brief goes here once the set of syscalls the run loop needs has
 * settled (devices, vsock and the daemon still add to it). */
#ifndef LISPVM_VMM_SANDBOX_H
#define LISPVM_VMM_SANDBOX_H

#include <stddef.h>

/* Returns 0, or -1 with a one-line reason in err. */
int sandbox_enter(char *err, size_t err_size);

#endif
