/* SPDX-License-Identifier: MIT */
/* Printing what went wrong inside the guest: CPU exceptions the guest
 * reported, and triple faults KVM reported. */
#ifndef LISPVM_VMM_FAULT_REPORT_H
#define LISPVM_VMM_FAULT_REPORT_H

#include <stdio.h>

#include <lispvm/abi.h>

/* "#PF page fault" for vector 14; "reserved exception" or "interrupt" for
 * vectors without a name. */
const char *fault_vector_name(uint64_t vector);

/* One summary line (vector, error code, RIP, CR2) and a register dump. */
void fault_report_print(FILE *out, const struct lispvm_fault_report *report);

/* The register dump alone, for states KVM hands us (triple fault). */
void fault_report_print_registers(FILE *out, const struct lispvm_fault_report *report);

#endif
