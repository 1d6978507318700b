/* SPDX-License-Identifier: MIT */
/*
 * One stub per IDT vector (the 32 CPU exceptions).  Each makes the stack look the same (a dummy
 * error code where the CPU pushes none, then the vector) and jumps to
 * trap_common, which saves the general registers in the order of
 * enum lispvm_gpr / struct trap_frame and calls trap_dispatch(frame).
 */
	.text

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

	.p2align 4
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 32
	.p2align 4
	.if HAS_ERROR_CODE(vec)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	mov	%rsp, %rdi
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp                   /* vector and error code */
	iretq
