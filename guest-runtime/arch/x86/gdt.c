/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>

#include "arch/x86/descriptors.h"

/* Flat long-mode segments: only type, DPL and the L/D bits matter. */
#define GDT_CODE64(dpl) (0x00209a0000000000ull | ((uint64_t)(dpl) << 45))
#define GDT_DATA(dpl)	(0x0000920000000000ull | ((uint64_t)(dpl) << 45))
#define GDT_CODE32(dpl) (0x00cf9a000000ffffull | ((uint64_t)(dpl) << 45))

static void set_tss_descriptor(uint64_t *slot, const struct tss64 *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

static void load_gdt(const uint64_t *gdt)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = {GDT_ENTRIES * 8 - 1, (uint64_t)gdt};

	/* Reload CS with a far return, then the data segments. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 :
			 : "m"(gdtr), "i"(SEL_KERNEL_CODE), "r"(SEL_KERNEL_DATA)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
}

void idt_init_and_load(void);

void descriptors_init(struct cpu_descriptors *desc)
{
	memset(desc->gdt, 0, sizeof(desc->gdt));
	desc->gdt[SEL_KERNEL_CODE / 8] = GDT_CODE64(0);
	desc->gdt[SEL_KERNEL_DATA / 8] = GDT_DATA(0);
	desc->gdt[SEL_USER_CODE32 / 8] = GDT_CODE32(3);
	desc->gdt[SEL_USER_DATA / 8] = GDT_DATA(3);
	desc->gdt[SEL_USER_CODE / 8] = GDT_CODE64(3);
	memset(&desc->tss, 0, sizeof(desc->tss));
	desc->tss.iomap_base = sizeof(desc->tss); /* no I/O bitmap: ring 3 gets no ports */
	for (int i = 0; i < 3; i++)
		desc->tss.ist[i] = (uint64_t)&desc->ist_stacks[i][IST_STACK_SIZE];
	set_tss_descriptor(&desc->gdt[SEL_TSS / 8], &desc->tss);
	load_gdt(desc->gdt);
	idt_init_and_load();
}
