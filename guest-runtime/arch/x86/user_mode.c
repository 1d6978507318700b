/* SPDX-License-Identifier: MIT */
#include "arch/x86/user_mode.h"

#include <stdint.h>

#include "arch/x86/cpu.h"
#include "arch/x86/selectors.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_SFMASK 0xc0000084u

#define EFER_SCE (1ull << 0)

/* Cleared on SYSCALL: TF, IF, DF, IOPL, NT, AC, as Linux does. */
#define SYSCALL_RFLAGS_MASK 0x47700ull

void syscall_entry(void);

void user_mode_init(void)
{
	/* SYSRET to 64-bit mode loads CS from STAR[63:48] + 16 and SS from
	 * + 8: the 32-bit user code selector anchors the user pair. */
	wrmsr(MSR_STAR,
	      ((uint64_t)(SEL_USER_CODE32 | 3) << 48) | ((uint64_t)SEL_KERNEL_CODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, SYSCALL_RFLAGS_MASK);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* The first SWAPGS on the way to ring 3 swaps this in as the user's
	 * GS base. */
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
