/* SPDX-License-Identifier: MIT */
/*
 * The ring-3 selftest's program, copied to a user page.  Position-
 * independent.  It makes 1000 getpid calls that must each return 1,
 * writes a line to stdout, maps a page, writes to it, unmaps it and
 * writes to it again: the process must die of SIGSEGV (exit 139).  A
 * wrong result ends in exit_group(1).
 */
	.section .rodata
	.globl probe_user_start, probe_user_end
probe_user_start:
	mov	$1000, %ebx
1:	mov	$39, %eax                   /* getpid */
	syscall
	cmp	$1, %rax
	jne	fail
	dec	%ebx
	jnz	1b

	mov	$1, %eax                    /* write(1, message, length) */
	mov	$1, %edi
	lea	message(%rip), %rsi
	mov	$message_end - message, %edx
	syscall
	cmp	$message_end - message, %rax
	jne	fail

	mov	$9, %eax                    /* mmap(0, 4096, RW, PRIVATE|ANON, -1, 0) */
	xor	%edi, %edi
	mov	$4096, %esi
	mov	$3, %edx
	mov	$0x22, %r10d
	mov	$-1, %r8
	xor	%r9d, %r9d
	syscall
	cmp	$-4095, %rax
	jae	fail
	mov	%rax, %r12
	cmpq	$0, (%r12)                  /* reads zero */
	jne	fail
	movq	$42, (%r12)
	cmpq	$42, (%r12)
	jne	fail

	mov	$11, %eax                   /* munmap */
	mov	%r12, %rdi
	mov	$4096, %esi
	syscall
	test	%rax, %rax
	jne	fail
	movq	$1, (%r12)                  /* SIGSEGV */
fail:
	mov	$231, %eax                  /* exit_group(1) */
	mov	$1, %edi
	syscall
	ud2
message:
	.ascii	"ring3: hello from user mode\n"
message_end:
probe_user_end:
