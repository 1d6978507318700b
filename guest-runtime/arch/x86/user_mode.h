/* SPDX-License-Identifier: MIT */
/* Ring 3: the SYSCALL MSRs and the first entry into a program. */
#ifndef GUEST_ARCH_X86_USER_MODE_H
#define GUEST_ARCH_X86_USER_MODE_H

#include <stdint.h>

#include "arch/x86/trap.h"

/* RFLAGS a program starts with: IF and the always-one bit. */
#define USER_RFLAGS_INITIAL 0x202

/* RFLAGS bits a program may set: CF PF AF ZF SF TF DF OF NT RF AC ID.
 * IOPL, IF and VM stay the kernel's. */
#define USER_RFLAGS_MASK 0x254dd5ull

/* RFLAGS from program-controlled bits (sigreturn, R11 after SYSCALL) made
 * safe to IRET to. */
static inline uint64_t user_rflags_sanitize(uint64_t rflags)
{
	return (rflags & USER_RFLAGS_MASK) | USER_RFLAGS_INITIAL;
}

/* Sets this CPU up for SYSCALL (call once per CPU after the GDT). */
void user_mode_init(void);

/* Loads the registers in frame, which must sit at the top of the current
 * thread's kernel stack, and returns to ring 3. */
_Noreturn void user_mode_enter(struct trap_frame *frame);

#endif
