/* SPDX-License-Identifier: MIT */
/* Everything KVM holds for one vCPU and for the VM around it, saved and
 * put back: what a snapshot must carry besides guest memory and devices. */
#ifndef LISPVM_VMM_VCPU_STATE_H
#define LISPVM_VMM_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"
#include "vcpu.h"

#define VCPU_STATE_MAX_MSRS 512

/* The layout is part of the snapshot format (docs/snapshots.md): Linux
 * UAPI structures, which the kernel keeps stable. */
struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
	uint32_t nr_msrs;
	uint32_t has_lapic;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};

/* The VM-wide part: kvmclock and, with the in-kernel irqchip, the PICs
 * and the IOAPIC. */
struct vm_kvm_state {
	struct kvm_clock_data clock;
	uint32_t has_irqchip;
	uint32_t reserved;
	struct kvm_irqchip irqchip[3];
	int64_t host_realtime_ns; /* the host's CLOCK_REALTIME when clock was read */
};

/* The vCPU must be stopped outside KVM_RUN with any I/O exit completed
 * (vcpu_complete_exit).  0, or -1 with the failing request in err. */
int vcpu_state_save(const struct vcpu *vcpu, const struct kvm_vm *vm, struct vcpu_state *out,
		    char *err, size_t err_size);
/* Onto a vCPU made by vcpu_create and never run. */
int vcpu_state_restore(const struct vcpu *vcpu, const struct vcpu_state *state, char *err,
		       size_t err_size);

int vm_kvm_state_save(const struct kvm_vm *vm, struct vm_kvm_state *out, char *err,
		      size_t err_size);
/* Before the vCPU's state: the clock first, so the restored TSC and
 * kvmclock MSRs are read against it.  The clock goes on from its saved
 * value or, with advance, from that value plus the host time that has
 * passed since (a resumed VM's wall clock, its monotonic clock plus the
 * offset it read at boot, stays right). */
int vm_kvm_state_restore(const struct kvm_vm *vm, const struct vm_kvm_state *state, bool advance,
			 char *err, size_t err_size);

/* Finishes the exit the vCPU last took (KVM completes an I/O instruction
 * only on the next KVM_RUN) without running guest code, so its registers
 * show the instruction done.  0, or -1 with errno. */
int vcpu_complete_exit(const struct vcpu *vcpu);

#endif
