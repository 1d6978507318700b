/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "arch/x86/descriptors.h"

/* Each stub in trap_entry.S is aligned to 16 bytes. */
#define TRAP_STUB_SIZE 16
/* The CPU exceptions, then the LAPIC timer (32), spurious (33),
 * host-signal (34, LISPVM_HOST_SIGNAL_VECTOR), console (35,
 * LISPVM_VIRTIO_CONSOLE_VECTOR) and vsock (36, LISPVM_VIRTIO_VSOCK_VECTOR)
 * vectors: nothing else raises interrupts, and filling few gates keeps
 * boot short where ring 0 is slow. */
#define IDT_VECTORS 37

#define VECTOR_NMI	     2
#define VECTOR_BREAKPOINT    3
#define VECTOR_DOUBLE_FAULT  8
#define VECTOR_MACHINE_CHECK 18

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const char trap_stubs[];

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

static uint8_t ist_for(unsigned int vector)
{
	switch (vector) {
	case VECTOR_DOUBLE_FAULT:
		return IST_DOUBLE_FAULT;
	case VECTOR_NMI:
		return IST_NMI;
	case VECTOR_MACHINE_CHECK:
		return IST_MACHINE_CHECK;
	default:
		return 0;
	}
}

/*
 * Present 64-bit interrupt gates.  int3 from ring 3 must reach the #BP
 * handler (SIGTRAP, as on Linux), so its gate has DPL 3; any other vector
 * a program names with INT n raises #GP, as it does on Linux.
 */
static uint8_t gate_attributes(unsigned int vector)
{
	return vector == VECTOR_BREAKPOINT ? 0xee : 0x8e;
}

static void set_gate(unsigned int vector)
{
	uint64_t handler = (uint64_t)(trap_stubs + vector * TRAP_STUB_SIZE);

	idt[vector] = (struct idt_gate){
		.offset_low = handler & 0xffff,
		.selector = SEL_KERNEL_CODE,
		.ist = ist_for(vector),
		.type_attr = gate_attributes(vector),
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_high = handler >> 32,
	};
}

static void load_idt(const void *base, uint16_t limit)
{
	struct idt_register idtr = {limit, (uint64_t)base};

	__asm__ volatile("lidt %0" ::"m"(idtr) : "memory");
}

void idt_init_and_load(void);

void idt_init_and_load(void)
{
	if (idt[0].type_attr == 0)
		for (unsigned int v = 0; v < IDT_VECTORS; v++)
			set_gate(v);
	load_idt(idt, sizeof(idt) - 1);
}

void idt_load_empty(void)
{
	load_idt(idt, 0);
}
