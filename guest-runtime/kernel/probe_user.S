/* SPDX-License-Identifier: MIT */
/*
 * The ring-3 selftest's program, copied to a user page: 1000 getpid
 * system calls that must each return 1, then exit_group(0); a wrong
 * result ends in ud2 (a fault report).  Position-independent.
 */
	.section .rodata
	.globl probe_user_start, probe_user_end
probe_user_start:
	mov	$1000, %ebx
1:	mov	$39, %eax                   /* getpid */
	syscall
	cmp	$1, %rax
	jne	2f
	dec	%ebx
	jnz	1b
	mov	$231, %eax                  /* exit_group */
	xor	%edi, %edi
	syscall
2:	ud2
probe_user_end:
