/* SPDX-License-Identifier: MIT */
/*
 * void switch_stacks(uint64_t *save_rsp, uint64_t new_rsp)
 *
 * Saves the callee-saved registers on this kernel stack, stores its
 * pointer in *save_rsp and resumes the thread whose stack new_rsp is:
 * inside its own switch_stacks, or, the first time, at thread_first_run.
 */
	.text
	.globl switch_stacks, thread_first_run
switch_stacks:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

/* A new thread's first switch returns here with %rsp at its trap frame. */
thread_first_run:
	jmp	trap_return
