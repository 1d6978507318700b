/* SPDX-License-Identifier: MIT */
/* The Linux x86-64 system call table. */
#ifndef GUEST_LINUX_SYSCALL_H
#define GUEST_LINUX_SYSCALL_H

#include <stdint.h>

#include "arch/x86/trap.h"

/* Every handler has this shape: the six argument registers (rdi, rsi,
 * rdx, r10, r8, r9); it returns the result or -errno. */
#define SYSCALL_DEFINE(name)                                                                       \
	int64_t sys_##name(                                                                        \
		uint64_t a0 __attribute__((unused)), uint64_t a1 __attribute__((unused)),          \
		uint64_t a2 __attribute__((unused)), uint64_t a3 __attribute__((unused)),          \
		uint64_t a4 __attribute__((unused)), uint64_t a5 __attribute__((unused)))

/* A kernel-internal result, never seen by the program (Linux's value,
 * from include/linux/errno.h): a wait a signal interrupted.  After a
 * handler with SA_RESTART, or when no handler runs, the call starts
 * again; after any other handler it fails with EINTR. */
#define ERESTARTSYS 512

/* The SYSCALL instruction's length: a restart returns to it. */
#define SYSCALL_INSN_LEN 2

typedef int64_t (*syscall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* Called by the SYSCALL entry with the caller's registers. */
void syscall_dispatch(struct trap_frame *frame);

/* The registers of the system call being served (rt_sigreturn rewrites
 * them). */
struct trap_frame *syscall_frame(void);

/* Print every call (lispvm --strace). */
void syscall_set_trace(int on);

#endif
