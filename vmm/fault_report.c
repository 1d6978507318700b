/* SPDX-License-Identifier: MIT */
#include "fault_report.h"

#include <inttypes.h>

static const char *const vector_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB debug",
	[2] = "NMI",
	[3] = "#BP breakpoint",
	[4] = "#OF overflow",
	[5] = "#BR bound range exceeded",
	[6] = "#UD invalid opcode",
	[7] = "#NM device not available",
	[8] = "#DF double fault",
	[9] = "coprocessor segment overrun",
	[10] = "#TS invalid TSS",
	[11] = "#NP segment not present",
	[12] = "#SS stack-segment fault",
	[13] = "#GP general protection",
	[14] = "#PF page fault",
	[16] = "#MF x87 floating-point error",
	[17] = "#AC alignment check",
	[18] = "#MC machine check",
	[19] = "#XM SIMD floating-point error",
	[20] = "#VE virtualization exception",
	[21] = "#CP control protection",
	[28] = "#HV hypervisor injection",
	[29] = "#VC VMM communication",
	[30] = "#SX security exception",
};

const char *fault_vector_name(uint64_t vector)
{
	if (vector < 32 && vector_names[vector] != NULL)
		return vector_names[vector];
	return vector < 32 ? "reserved exception" : "interrupt";
}

static const char *const gpr_names[LISPVM_GPR_COUNT] = {
	[LISPVM_GPR_RAX] = "rax", [LISPVM_GPR_RBX] = "rbx", [LISPVM_GPR_RCX] = "rcx",
	[LISPVM_GPR_RDX] = "rdx", [LISPVM_GPR_RSI] = "rsi", [LISPVM_GPR_RDI] = "rdi",
	[LISPVM_GPR_RBP] = "rbp", [LISPVM_GPR_R8] = "r8",   [LISPVM_GPR_R9] = "r9",
	[LISPVM_GPR_R10] = "r10", [LISPVM_GPR_R11] = "r11", [LISPVM_GPR_R12] = "r12",
	[LISPVM_GPR_R13] = "r13", [LISPVM_GPR_R14] = "r14", [LISPVM_GPR_R15] = "r15",
};

/* Print order: the conventional rax..r15, four to a line. */
static const enum lispvm_gpr gpr_order[LISPVM_GPR_COUNT] = {
	LISPVM_GPR_RAX, LISPVM_GPR_RBX, LISPVM_GPR_RCX, LISPVM_GPR_RDX, LISPVM_GPR_RSI,
	LISPVM_GPR_RDI, LISPVM_GPR_RBP, LISPVM_GPR_R8,	LISPVM_GPR_R9,	LISPVM_GPR_R10,
	LISPVM_GPR_R11, LISPVM_GPR_R12, LISPVM_GPR_R13, LISPVM_GPR_R14, LISPVM_GPR_R15,
};

void fault_report_print_registers(FILE *out, const struct lispvm_fault_report *r)
{
	for (int i = 0; i < LISPVM_GPR_COUNT; i++) {
		enum lispvm_gpr g = gpr_order[i];

		fprintf(out, "  %-3s %016" PRIx64, gpr_names[g], r->gpr[g]);
		if (i % 4 == 3 || i == LISPVM_GPR_COUNT - 1)
			fputc('\n', out);
	}
	fprintf(out, "  rip %016" PRIx64 "  rsp %016" PRIx64 "  rflags %08" PRIx64 "\n", r->rip,
		r->rsp, r->rflags);
	fprintf(out,
		"  cs %04" PRIx64 "  ss %04" PRIx64 "  cr0 %08" PRIx64 "  cr2 %016" PRIx64
		"  cr3 %016" PRIx64 "  cr4 %08" PRIx64 "\n",
		r->cs, r->ss, r->cr0, r->cr2, r->cr3, r->cr4);
}

void fault_report_print(FILE *out, const struct lispvm_fault_report *r)
{
	fprintf(out,
		"lispvm: guest runtime fault: vector %" PRIu64 " (%s), error code 0x%" PRIx64
		", RIP 0x%" PRIx64 ", CR2 0x%" PRIx64 "\n",
		r->vector, fault_vector_name(r->vector), r->error_code, r->rip, r->cr2);
	fault_report_print_registers(out, r);
}
