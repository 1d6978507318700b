/* SPDX-License-Identifier: MIT */
/*
 * Every way into the kernel and back out.
 *
 * One stub per IDT vector (the 32 CPU exceptions, then the LAPIC timer,
 * spurious and host-signal vectors).  Each makes the stack
 * look the same (a dummy error code where the CPU pushes none, then the
 * vector) and jumps to trap_common, which saves the general registers in
 * the order of enum lispvm_gpr / struct trap_frame and calls
 * trap_dispatch(frame).  SYSCALL builds the same frame by hand, so a
 * thread's user registers have one layout however it entered.
 *
 * %gs holds the per-CPU area in the kernel and the user's GS base in ring
 * 3: every entry from ring 3 and every return to it does SWAPGS.
 */
#include "arch/x86/selectors.h"
#include "arch/x86/trap_vectors.h"
#include "kernel/percpu_offsets.h"

/* struct trap_frame offsets. */
#define FRAME_R11    (4 * 8)
#define FRAME_RCX    (12 * 8)
#define FRAME_RIP    (17 * 8)
#define FRAME_CS     (18 * 8)
#define FRAME_RFLAGS (19 * 8)
#define FRAME_RSP    (20 * 8)

/* RFLAGS bits that SYSRET cannot restore faithfully. */
#define RFLAGS_TF_RF 0x10100

	.text

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

	.p2align 4
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 37 /* IDT_VECTORS in idt.c */
	.p2align 4
	.if HAS_ERROR_CODE(vec)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	trap_common
	.set vec, vec + 1
	.endr

.macro SAVE_GPRS
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
.endm

.macro RESTORE_GPRS
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
.endm

trap_common:
	testb	$3, 24(%rsp)                /* CS: from ring 3? */
	jz	1f
	swapgs
1:	SAVE_GPRS
	cld
	mov	%rsp, %rdi
	call	trap_dispatch
	/* fall through */

/* Returns to whatever the trap_frame at %rsp describes. */
	.globl trap_return
trap_return:
	RESTORE_GPRS
	addq	$16, %rsp                   /* vector and error code */
	testb	$3, 8(%rsp)                 /* CS: to ring 3? */
	jz	1f
	swapgs
1:	iretq

/* void user_mode_enter(struct trap_frame *frame): starts ring 3 from a
 * frame built at the top of the thread's kernel stack. */
	.globl user_mode_enter
user_mode_enter:
	mov	%rdi, %rsp
	jmp	trap_return

/*
 * SYSCALL: RIP in RCX, RFLAGS in R11, still on the user stack with
 * interrupts off (SFMASK).  The kernel stack comes from the per-CPU area.
 */
	.p2align 4
	.globl syscall_entry
syscall_entry:
	swapgs
	movq	%rsp, %gs:PERCPU_USER_RSP
	movq	%gs:PERCPU_KERNEL_RSP, %rsp
	pushq	$USER_SS
	pushq	%gs:PERCPU_USER_RSP
	pushq	%r11
	pushq	$USER_CS
	pushq	%rcx
	pushq	%rax                        /* error_code: the number called */
	pushq	$TRAP_VECTOR_SYSCALL
	SAVE_GPRS
	cld
	mov	%rsp, %rdi
	call	syscall_dispatch
	/*
	 * SYSRET when the frame is still what SYSCALL left (RCX = RIP,
	 * R11 = RFLAGS, a lower-half RIP, no TF/RF, 64-bit CS); anything a
	 * signal or sigreturn changed goes back through IRET.
	 */
	movq	FRAME_RCX(%rsp), %rcx
	cmpq	FRAME_RIP(%rsp), %rcx
	jne	trap_return
	movq	FRAME_R11(%rsp), %r11
	cmpq	FRAME_RFLAGS(%rsp), %r11
	jne	trap_return
	testq	$RFLAGS_TF_RF, %r11
	jnz	trap_return
	shrq	$47, %rcx
	jnz	trap_return
	cmpq	$USER_CS, FRAME_CS(%rsp)
	jne	trap_return
	RESTORE_GPRS
	movq	FRAME_RSP - FRAME_RIP + 16(%rsp), %rsp
	swapgs
	sysretq
