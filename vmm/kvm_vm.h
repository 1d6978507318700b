/* SPDX-License-Identifier: MIT */
/* /dev/kvm, one VM, its memory slots and vCPU file descriptors. */
#ifndef LISPVM_VMM_KVM_VM_H
#define LISPVM_VMM_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_VM_MAX_MSI_ROUTES 8
#define KVM_VM_MAX_LOGGED     8
#define KVM_VM_PAGE_SIZE      4096 /* the dirty log has one bit per such page */

/* A memory slot whose writes KVM logs (KVM_MEM_LOG_DIRTY_PAGES). */
struct kvm_logged_slot {
	uint32_t slot;
	uint64_t gpa, pages;
};

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	size_t vcpu_mmap_size;
	unsigned int next_slot;
	unsigned int max_slots;
	bool irqchip;				    /* KVM's in-kernel LAPIC/IOAPIC exist */
	uint32_t msi_routes[KVM_VM_MAX_MSI_ROUTES]; /* vector of GSI 24 + i */
	unsigned int nr_msi_routes;
	bool log_dirty; /* writable slots added from now on are logged */
	struct kvm_logged_slot logged[KVM_VM_MAX_LOGGED];
	unsigned int nr_logged;
};

/* Opens /dev/kvm, checks the API version and every capability lispvm needs
 * and creates an empty VM.  Returns 0, or -1 with the reason (naming the
 * missing capability) in err. */
int kvm_vm_create(struct kvm_vm *vm, char *err, size_t err_size);

/* Registers host memory as a memory slot at guest-physical gpa. */
int kvm_vm_add_memslot(struct kvm_vm *vm, uint64_t gpa, uint64_t size, void *host, bool readonly,
		       char *err, size_t err_size);

void kvm_vm_destroy(struct kvm_vm *vm);

#endif
