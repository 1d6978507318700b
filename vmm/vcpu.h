/* SPDX-License-Identifier: MIT */
/* One vCPU: creation, CPUID, the PVH entry state, and its kvm_run page. */
#ifndef LISPVM_VMM_VCPU_H
#define LISPVM_VMM_VCPU_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"

struct vcpu {
	int fd;
	unsigned int id;
	struct kvm_run *run;
	size_t run_size;
};

int vcpu_create(struct vcpu *vcpu, struct kvm_vm *vm, unsigned int id, char *err, size_t err_size);

/* The PVH start state: 32-bit flat protected mode, paging off, %ebx =
 * start_info_gpa, %eip = entry. */
int vcpu_set_pvh_entry(struct vcpu *vcpu, uint64_t entry, uint64_t start_info_gpa, char *err,
		       size_t err_size);

void vcpu_destroy(struct vcpu *vcpu);

#endif
