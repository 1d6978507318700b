/* SPDX-License-Identifier: MIT */
/* Translating between kernel virtual and guest-physical addresses. */
#ifndef GUEST_KERNEL_MEMORY_H
#define GUEST_KERNEL_MEMORY_H

#include <stdint.h>

#include "arch/x86/layout.h"

/* Valid for kernel-image and direct-map addresses. */
static inline uint64_t virt_to_phys(const volatile void *p)
{
	uint64_t v = (uint64_t)p;

	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

static inline void *phys_to_virt(uint64_t phys)
{
	return (void *)(phys + DIRECT_MAP_BASE);
}

extern char _kernel_phys_start[], _kernel_phys_end[];
extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _kernel_end[];

#endif
