/* SPDX-License-Identifier: MIT */
#ifndef GUEST_ARCH_X86_TRAP_H
#define GUEST_ARCH_X86_TRAP_H

#include <stdint.h>

#include <lispvm/abi.h>

/* What trap_entry.S leaves on the stack, lowest address first. */
struct trap_frame {
	uint64_t gpr[LISPVM_GPR_COUNT]; /* indexed by enum lispvm_gpr */
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

void trap_dispatch(struct trap_frame *frame);

#endif
