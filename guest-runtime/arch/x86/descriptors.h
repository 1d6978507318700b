/* SPDX-License-Identifier: MIT */
/* GDT, TSS and IDT. */
#ifndef GUEST_ARCH_X86_DESCRIPTORS_H
#define GUEST_ARCH_X86_DESCRIPTORS_H

#include <stdint.h>

#include "arch/x86/selectors.h"

/* IST slots (1-based in the IDT). */
#define IST_DOUBLE_FAULT  1
#define IST_NMI		  2
#define IST_MACHINE_CHECK 3
#define IST_STACK_SIZE	  (8 * 1024)

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu_descriptors {
	uint64_t gdt[GDT_ENTRIES];
	struct tss64 tss;
	uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

/* The stack the CPU switches to on an interrupt or exception from ring 3:
 * the running thread's kernel stack. */
static inline void tss_set_kernel_stack(struct tss64 *tss, uint64_t top)
{
	tss->rsp[0] = top;
}

/* Loads this CPU's GDT and TSS, and the shared IDT. */
void descriptors_init(struct cpu_descriptors *desc);

/* Makes the next exception a triple fault (selftest). */
void idt_load_empty(void);

#endif
