/* SPDX-License-Identifier: MIT */
/* GDT selectors (also included from assembly). */
#ifndef GUEST_ARCH_X86_SELECTORS_H
#define GUEST_ARCH_X86_SELECTORS_H

/* Selectors, with Linux's values so a program that prints CS/SS from its
 * ucontext sees what it sees natively.  SYSCALL/SYSRET need kernel data
 * right after kernel code, and user data then user code right after the
 * 32-bit user code (STAR layout). */
#define SEL_KERNEL_CODE 0x10
#define SEL_KERNEL_DATA 0x18
#define SEL_USER_CODE32 0x20
#define SEL_USER_DATA	0x28
#define SEL_USER_CODE	0x30
#define SEL_TSS		0x40
#define GDT_ENTRIES	10 /* null, 5 segments, unused, TSS (2 slots) */

/* With RPL 3, as ring 3 sees them. */
#define USER_CS (SEL_USER_CODE | 3)
#define USER_SS (SEL_USER_DATA | 3)

#endif
