/* SPDX-License-Identifier: MIT */
#include "kvm_irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* GSIs above the 24 IOAPIC pins, which lispvm guests do not use. */
#define FIRST_MSI_GSI 24

/* KVM_SET_GSI_ROUTING replaces the whole table, so every route so far is
 * sent each time. */
static int set_routes(struct kvm_vm *vm, char *err, size_t err_size)
{
	size_t n = vm->nr_msi_routes;
	struct kvm_irq_routing *table =
		calloc(1, sizeof(*table) + n * sizeof(struct kvm_irq_routing_entry));

	if (table == NULL) {
		snprintf(err, err_size, "out of memory for interrupt routes");
		return -1;
	}
	table->nr = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		table->entries[i] = (struct kvm_irq_routing_entry){
			.gsi = FIRST_MSI_GSI + (uint32_t)i,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = {.address_lo = KVM_MSI_ADDRESS_LAPIC0, .data = vm->msi_routes[i]},
		};
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, table) < 0) {
		snprintf(err, err_size, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
		free(table);
		return -1;
	}
	free(table);
	return 0;
}

int kvm_irq_route_msi(struct kvm_vm *vm, uint32_t vector, int eventfd, char *err, size_t err_size)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)eventfd};

	if (!vm->irqchip) {
		snprintf(err, err_size, "device interrupts need KVM's in-kernel irqchip");
		return -1;
	}
	if (vm->nr_msi_routes == KVM_VM_MAX_MSI_ROUTES) {
		snprintf(err, err_size, "more than %d device interrupts", KVM_VM_MAX_MSI_ROUTES);
		return -1;
	}
	vm->msi_routes[vm->nr_msi_routes++] = vector;
	if (set_routes(vm, err, err_size) < 0)
		return -1;
	irqfd.gsi = FIRST_MSI_GSI + vm->nr_msi_routes - 1;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		snprintf(err, err_size, "KVM_IRQFD: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_irq_mmio_eventfd(struct kvm_vm *vm, uint64_t gpa, uint32_t len, int eventfd, char *err,
			 size_t err_size)
{
	struct kvm_ioeventfd io = {.addr = gpa, .len = len, .fd = eventfd};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		snprintf(err, err_size, "KVM_IOEVENTFD at 0x%llx: %s", (unsigned long long)gpa,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_irq_pio_eventfd(struct kvm_vm *vm, uint16_t port, uint32_t len, int eventfd, char *err,
			size_t err_size)
{
	struct kvm_ioeventfd io = {
		.addr = port, .len = len, .fd = eventfd, .flags = KVM_IOEVENTFD_FLAG_PIO};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		snprintf(err, err_size, "KVM_IOEVENTFD at port 0x%x: %s", port, strerror(errno));
		return -1;
	}
	return 0;
}
