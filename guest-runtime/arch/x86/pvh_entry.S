/* SPDX-License-Identifier: MIT */
/*
 * PVH entry.  The loader (lispvm or QEMU) starts us here in 32-bit flat
 * protected mode with paging off and %ebx = physical address of the
 * hvm_start_info.  We switch to long mode on page tables that are fully
 * built at link time:
 *   identity       0 .. 1 GiB  (only until we jump high)
 *   direct map     0xffff800000000000 + 0 .. 1 GiB
 *   kernel image   0xffffffff80000000 + 0 .. 1 GiB
 * all three sharing one page directory of 2 MiB pages.  kmain() replaces
 * these tables with the real ones.
 */
#include <elfnote.h>
#include <lispvm/abi.h>

#include "layout.h"

#define PTE_PRESENT_RW 0x3
#define PTE_LARGE      0x80

	/* --- ELF notes (PT_NOTE) --- */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4                         /* namesz: "Xen\0" */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

	.section .note.lispvm, "a", @note
	.p2align 2
	.long 7                         /* namesz: "lispvm\0" */
	.long 4
	.long LISPVM_ELFNOTE_ABI_VERSION
	.asciz "lispvm"
	.p2align 2
	.long LISPVM_ABI_VERSION

	/* --- 32-bit entry, running at its physical address --- */
	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov	%ebx, %esi                  /* keep start_info for kmain */

	mov	%cr4, %eax
	or	$(1 << 5), %eax             /* PAE */
	mov	%eax, %cr4

	mov	$boot_pml4, %eax
	mov	%eax, %cr3

	mov	$0xc0000080, %ecx           /* EFER */
	rdmsr
	or	$(1 << 8), %eax             /* LME */
	wrmsr

	mov	%cr0, %eax
	or	$((1 << 31) | (1 << 0)), %eax  /* PG | PE */
	mov	%eax, %cr0

	lgdt	boot_gdt_desc
	ljmp	$0x08, $boot_long_mode

	.code64
boot_long_mode:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	movabs	$kernel_entry64, %rax
	jmp	*%rax

	/* --- early page tables and GDT, at their physical addresses --- */
	.section .boot.data, "aw"
	.p2align 12
boot_pml4:
	.quad boot_pdpt + PTE_PRESENT_RW        /* identity */
	.fill 255, 8, 0
	.quad boot_pdpt + PTE_PRESENT_RW        /* direct map, entry 256 */
	.fill 254, 8, 0
	.quad boot_pdpt_high + PTE_PRESENT_RW   /* kernel image, entry 511 */

	.p2align 12
boot_pdpt:
	.quad boot_pd + PTE_PRESENT_RW
	.fill 511, 8, 0

	.p2align 12
boot_pdpt_high:
	.fill 510, 8, 0
	.quad boot_pd + PTE_PRESENT_RW          /* 0xffffffff80000000 */
	.quad 0

	.p2align 12
boot_pd:
	.set page, 0
	.rept 512
	.quad (page << 21) + PTE_PRESENT_RW + PTE_LARGE
	.set page, page + 1
	.endr

	.p2align 3
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	/* --- first 64-bit code in the upper half --- */
	.text
	.globl kernel_entry64
kernel_entry64:
	movabs	$boot_stack_top, %rsp
	xor	%ebp, %ebp
	mov	%esi, %edi                  /* kmain(start_info_paddr) */
	call	kmain
1:	cli
	hlt
	jmp	1b

	.bss
	.p2align 12
boot_stack:
	.skip KERNEL_BOOT_STACK_SIZE
boot_stack_top:
