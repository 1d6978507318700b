/* SPDX-License-Identifier: MIT */
/*
 * uint64_t uaccess_copy(void *dst, const void *src, uint64_t n)
 *
 * Copies n bytes where either side may be a program's address, and
 * returns how many were NOT copied.  A fault that the page-fault handler
 * cannot resolve resumes at the fixup (trap.c checks the RIP), which
 * returns the count left in RCX.
 */
	.text
	.globl uaccess_copy, uaccess_copy_insn, uaccess_copy_fixup
uaccess_copy:
	mov	%rdx, %rcx
uaccess_copy_insn:
	rep movsb
	xor	%eax, %eax
	ret
uaccess_copy_fixup:
	mov	%rcx, %rax
	ret
