/* SPDX-License-Identifier: MIT */
/* Vector numbers in struct trap_frame (also included from assembly). */
#ifndef GUEST_ARCH_X86_TRAP_VECTORS_H
#define GUEST_ARCH_X86_TRAP_VECTORS_H

#define TRAP_VECTOR_DE 0
#define TRAP_VECTOR_DB 1
#define TRAP_VECTOR_BP 3
#define TRAP_VECTOR_UD 6
#define TRAP_VECTOR_GP 13
#define TRAP_VECTOR_PF 14
#define TRAP_VECTOR_XM 19

/* Not a CPU vector: the frame was built by the SYSCALL entry, and its
 * error_code holds the system call number as called. */
#define TRAP_VECTOR_SYSCALL 0x100

#endif
