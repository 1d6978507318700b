/* SPDX-License-Identifier: MIT */
#include "kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Where KVM may put the three pages of its real-mode TSS on Intel hosts;
 * inside the MMIO hole, clear of RAM and devices. */
#define KVM_TSS_GPA 0xfffbd000UL

struct required_cap {
	int cap;
	const char *name;
	const char *why;
};

static const struct required_cap required_caps[] = {
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID for the guest"},
	{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "x86 VM setup"},
	{KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM", "read-only image slots"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping a running vCPU"},
	{KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", "memory slots"},
};

static int check_caps(struct kvm_vm *vm, char *err, size_t err_size)
{
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		const struct required_cap *c = &required_caps[i];

		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, c->cap) <= 0) {
			snprintf(err, err_size, "KVM lacks %s (needed for %s)", c->name, c->why);
			return -1;
		}
	}
	vm->max_slots = (unsigned int)ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	return 0;
}

/* What a user can do about it, in the same line. */
static const char *open_kvm_hint(int error)
{
	if (error == ENOENT)
		return "; this host has no KVM: enable (nested) virtualisation for this machine, "
		       "or let lispvm run its VMs in its helper machine (LISPVM_MACHINE=auto, "
		       "the default, instead of never)";
	if (error == EACCES)
		return " (are you root or in group kvm?)";
	return "";
}

static int open_kvm(struct kvm_vm *vm, char *err, size_t err_size)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		snprintf(err, err_size, "cannot open /dev/kvm: %s%s", strerror(errno),
			 open_kvm_hint(errno));
		return -1;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, err_size, "KVM API version %d, need %d", version, KVM_API_VERSION);
		return -1;
	}
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm, char *err, size_t err_size)
{
	int size;

	*vm = (struct kvm_vm){.kvm_fd = -1, .vm_fd = -1};
	if (open_kvm(vm, err, err_size) < 0 || check_caps(vm, err, err_size) < 0)
		return -1;
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0) {
		snprintf(err, err_size, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->vcpu_mmap_size = (size_t)size;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, err_size, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	/* The in-kernel LAPIC gives the guest its timer interrupt (thread
	 * preemption) without a VM exit per tick.  Where KVM has none, the
	 * guest sees no x2APIC and schedules cooperatively. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0 &&
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) == 0)
		vm->irqchip = true;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0) {
		snprintf(err, err_size, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_vm_add_memslot(struct kvm_vm *vm, uint64_t gpa, uint64_t size, void *host, bool readonly,
		       char *err, size_t err_size)
{
	bool logged = vm->log_dirty && !readonly;
	struct kvm_userspace_memory_region region = {
		.slot = vm->next_slot,
		.flags = readonly ? KVM_MEM_READONLY
			 : logged ? KVM_MEM_LOG_DIRTY_PAGES
				  : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (vm->next_slot >= vm->max_slots || (logged && vm->nr_logged == KVM_VM_MAX_LOGGED)) {
		snprintf(err, err_size, "out of KVM memory slots (%u)", vm->max_slots);
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, err_size, "KVM_SET_USER_MEMORY_REGION at 0x%llx: %s",
			 (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	if (logged)
		vm->logged[vm->nr_logged++] = (struct kvm_logged_slot){
			.slot = vm->next_slot, .gpa = gpa, .pages = size / KVM_VM_PAGE_SIZE};
	vm->next_slot++;
	return 0;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}
