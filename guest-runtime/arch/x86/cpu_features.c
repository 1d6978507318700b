/* SPDX-License-Identifier: MIT */
#include "arch/x86/cpu_features.h"

#include "arch/x86/cpu.h"

#define CPUID_EXT_FEATURES 0x80000001u
#define EXT_EDX_NX	   (1u << 20)
#define EXT_EDX_PAGE1GB	   (1u << 26)
#define LEAF7_EBX_FSGSBASE (1u << 0)
#define LEAF7_EBX_SMEP	   (1u << 7)

struct cpu_features cpu_features;

void cpu_features_init(void)
{
	struct cpuid_regs ext = {0}, leaf7 = {0};
	uint64_t cr4;

	if (cpuid(0x80000000u, 0).eax >= CPUID_EXT_FEATURES)
		ext = cpuid(CPUID_EXT_FEATURES, 0);
	if (cpuid(0, 0).eax >= 7)
		leaf7 = cpuid(7, 0);
	cpu_features = (struct cpu_features){
		.nx = ext.edx & EXT_EDX_NX,
		.page_1g = ext.edx & EXT_EDX_PAGE1GB,
		.fsgsbase = leaf7.ebx & LEAF7_EBX_FSGSBASE,
		.smep = leaf7.ebx & LEAF7_EBX_SMEP,
	};
	if (cpu_features.nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	cr4 = read_cr4() | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpu_features.fsgsbase)
		cr4 |= CR4_FSGSBASE;
	if (cpu_features.smep)
		cr4 |= CR4_SMEP;
	write_cr4(cr4);
	write_cr0(read_cr0() | CR0_WP);
}
