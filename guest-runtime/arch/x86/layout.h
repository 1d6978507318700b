/* SPDX-License-Identifier: MIT */
/* The guest's virtual address space (also included from assembly). */
#ifndef GUEST_ARCH_X86_LAYOUT_H
#define GUEST_ARCH_X86_LAYOUT_H

/* Lower half (0 .. 0x00007fffffffffff): the Linux program, ring 3. */
#define USER_SPACE_END 0x0000800000000000

/* All guest-physical memory, mapped at this offset. */
#define DIRECT_MAP_BASE 0xffff800000000000
#define DIRECT_MAP_SIZE 0x0000400000000000 /* 64 TiB */

/* The kernel image: virtual = physical + KERNEL_VMA. */
#define KERNEL_VMA 0xffffffff80000000

#define PAGE_SIZE  4096
#define PAGE_SHIFT 12

#define KERNEL_BOOT_STACK_SIZE (16 * 1024)

#endif
