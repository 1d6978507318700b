/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CPUID_MAX_ENTRIES 256

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE	  (1u << 11)
#define MTRR_TYPE_WB	  6

#define X86_CR0_PE (1u << 0)
#define X86_CR0_ET (1u << 4)

/* Segment descriptors as KVM wants them: flat 4 GiB, 32-bit. */
#define SEG_TYPE_CODE_RX_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_TSS_BUSY	  0xb

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

/* Each vCPU reports its own APIC id in the CPUID leaves that carry it. */
static void set_apic_id(struct kvm_cpuid2 *cpuid, unsigned int id)
{
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
	}
}

#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

/*
 * KVM emulates the LAPIC's TSC-deadline mode but leaves the CPUID bit out
 * of KVM_GET_SUPPORTED_CPUID: setting it is userspace's call
 * (KVM_CAP_TSC_DEADLINE_TIMER).  The guest's scheduler tick, its idle
 * sleep and so preemption and host signals to an idle guest depend on it.
 */
static void offer_tsc_deadline(struct kvm_cpuid2 *cpuid, struct kvm_vm *vm)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (unsigned int i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			cpuid->entries[i].ecx |= CPUID1_ECX_TSC_DEADLINE;
}

static int setup_cpuid(struct vcpu *vcpu, struct kvm_vm *vm, char *err, size_t err_size)
{
	size_t size =
		sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	int rc = -1;

	if (cpuid == NULL) {
		snprintf(err, err_size, "out of memory for CPUID");
		return -1;
	}
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		snprintf(err, err_size, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	set_apic_id(cpuid, vcpu->id);
	offer_tsc_deadline(cpuid, vm);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		snprintf(err, err_size, "KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(cpuid);
	return rc;
}

/* Firmware's job, which lispvm does: at reset the MTRRs are off, making all
 * memory uncacheable; every guest memory access would then be slow. */
static int setup_msrs(struct vcpu *vcpu, char *err, size_t err_size)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entries[1];
	} msrs = {
		.header = {.nmsrs = 1},
		.entries = {{.index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE | MTRR_TYPE_WB}},
	};

	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1) {
		snprintf(err, err_size, "KVM_SET_MSRS (MTRR default type): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int vcpu_create(struct vcpu *vcpu, struct kvm_vm *vm, unsigned int id, char *err, size_t err_size)
{
	*vcpu = (struct vcpu){.fd = -1, .id = id};
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		snprintf(err, err_size, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	vcpu->run_size = vm->vcpu_mmap_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		snprintf(err, err_size, "mmap of kvm_run: %s", strerror(errno));
		return -1;
	}
	if (setup_cpuid(vcpu, vm, err, err_size) < 0)
		return -1;
	return setup_msrs(vcpu, err, err_size);
}

int vcpu_set_pvh_entry(struct vcpu *vcpu, uint64_t entry, uint64_t start_info_gpa, char *err,
		       size_t err_size)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rbx = start_info_gpa,
		.rflags = 0x2, /* bit 1 is reserved-one; IF clear */
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(err, err_size, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	sregs.cs = flat_segment(0x08, SEG_TYPE_CODE_RX_ACCESSED);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		flat_segment(0x10, SEG_TYPE_DATA_RW_ACCESSED);
	sregs.tr = flat_segment(0x18, SEG_TYPE_TSS_BUSY);
	sregs.tr.s = 0;
	sregs.tr.limit = 0x67;
	sregs.tr.g = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(err, err_size, "KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		snprintf(err, err_size, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run != NULL)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
