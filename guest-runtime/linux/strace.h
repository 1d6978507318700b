/* SPDX-License-Identifier: MIT */
/* `lispvm exec --strace`: each system call with decoded arguments and its
 * result, one line per call, in strace's notation. */
#ifndef GUEST_LINUX_STRACE_H
#define GUEST_LINUX_STRACE_H

#include <stdint.h>

/* The call's name (also for unimplemented ones), or NULL. */
const char *syscall_name(uint64_t nr);

/* Prints the call after it returned ret; for calls that never return
 * (exit, exit_group), call it before with `returns` false. */
void strace_print(uint64_t nr, const uint64_t args[6], int64_t ret, int returns);

#endif
