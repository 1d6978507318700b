/* SPDX-License-Identifier: MIT */
/* Device events without the vCPU thread: interrupts a device raises by
 * writing an eventfd (irqfd, routed as an MSI to the in-kernel LAPIC) and
 * guest register writes KVM turns into eventfd signals (ioeventfd). */
#ifndef LISPVM_VMM_KVM_IRQ_H
#define LISPVM_VMM_KVM_IRQ_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"

/* The x86 MSI address of LAPIC 0 (physical destination ID 0). */
#define KVM_MSI_ADDRESS_LAPIC0 0xfee00000u

/* Writing eventfd raises an MSI with `vector` at LAPIC 0.  Needs the
 * in-kernel irqchip.  Returns 0, or -1 with the reason in err. */
int kvm_irq_route_msi(struct kvm_vm *vm, uint32_t vector, int eventfd, char *err, size_t err_size);

/* A guest write of `len` bytes at gpa signals eventfd instead of exiting
 * to the VMM.  Returns 0, or -1 with the reason in err. */
int kvm_irq_mmio_eventfd(struct kvm_vm *vm, uint64_t gpa, uint32_t len, int eventfd, char *err,
			 size_t err_size);

/* A guest OUT of `len` bytes to port signals eventfd instead of exiting
 * to the VMM.  Returns 0, or -1 with the reason in err. */
int kvm_irq_pio_eventfd(struct kvm_vm *vm, uint16_t port, uint32_t len, int eventfd, char *err,
			size_t err_size);

#endif
