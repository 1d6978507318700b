/* SPDX-License-Identifier: MIT */
/* CPU features the kernel uses, found with CPUID and switched on once. */
#ifndef GUEST_ARCH_X86_CPU_FEATURES_H
#define GUEST_ARCH_X86_CPU_FEATURES_H

#include <stdbool.h>

struct cpu_features {
	bool nx;       /* no-execute pages (EFER.NXE) */
	bool page_1g;  /* 1 GiB pages */
	bool fsgsbase; /* rd/wr{fs,gs}base in ring 3 */
	bool smep;     /* ring 0 never executes user pages */
};

extern struct cpu_features cpu_features;

/* Detects features and enables them with SSE support (CR4.OSFXSR and
 * OSXMMEXCPT, which Linux programs rely on), global pages and CR0.WP. */
void cpu_features_init(void);

#endif
