/* SPDX-License-Identifier: MIT */
#include "vcpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC 0x10

/* The order of restoring is Firecracker's and QEMU's: special registers
 * (with the APIC base) before the LAPIC, the LAPIC before the MSRs (the
 * TSC-deadline MSR is ignored unless the LAPIC timer is in that mode),
 * the TSC before anything counted against it, the events last. */

static int fail(char *err, size_t err_size, const char *what)
{
	snprintf(err, err_size, "%s: %s", what, strerror(errno));
	return -1;
}

int vcpu_complete_exit(const struct vcpu *vcpu)
{
	int rc;

	vcpu->run->immediate_exit = 1;
	rc = ioctl(vcpu->fd, KVM_RUN, 0);
	vcpu->run->immediate_exit = 0;
	if (rc == 0) {
		errno = EPROTO; /* the guest ran: it must not have */
		return -1;
	}
	return errno == EINTR ? 0 : -1;
}

/* Every MSR KVM can save, TSC first. */
static int msr_indices(const struct kvm_vm *vm, uint32_t *out, uint32_t *count)
{
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + VCPU_STATE_MAX_MSRS * 4);
	uint32_t n = 0;

	if (list == NULL)
		return -1;
	list->nmsrs = VCPU_STATE_MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return -1;
	}
	out[n++] = MSR_IA32_TSC;
	for (uint32_t i = 0; i < list->nmsrs && n < VCPU_STATE_MAX_MSRS; i++)
		if (list->indices[i] != MSR_IA32_TSC)
			out[n++] = list->indices[i];
	*count = n;
	free(list);
	return 0;
}

/* One at a time: KVM_GET_MSRS stops at the first MSR this vCPU lacks
 * (the list names every MSR KVM knows, not what this CPUID enables). */
static int save_msrs(const struct vcpu *vcpu, const struct kvm_vm *vm, struct vcpu_state *out)
{
	uint32_t indices[VCPU_STATE_MAX_MSRS], count;
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry;
	} one;

	if (msr_indices(vm, indices, &count) < 0)
		return -1;
	out->nr_msrs = 0;
	for (uint32_t i = 0; i < count; i++) {
		memset(&one, 0, sizeof(one));
		one.header.nmsrs = 1;
		one.entry.index = indices[i];
		if (ioctl(vcpu->fd, KVM_GET_MSRS, &one) == 1)
			out->msrs[out->nr_msrs++] = one.entry;
	}
	return 0;
}

static int restore_msrs(const struct vcpu *vcpu, const struct vcpu_state *state, char *err,
			size_t err_size)
{
	size_t size = sizeof(struct kvm_msrs) + state->nr_msrs * sizeof(struct kvm_msr_entry);
	struct kvm_msrs *msrs = calloc(1, size);
	int rc;

	if (msrs == NULL)
		return fail(err, err_size, "restoring MSRs");
	msrs->nmsrs = state->nr_msrs;
	memcpy(msrs->entries, state->msrs, state->nr_msrs * sizeof(struct kvm_msr_entry));
	rc = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (rc >= 0 && (uint32_t)rc != state->nr_msrs) {
		snprintf(err, err_size, "KVM_SET_MSRS: this host refuses MSR 0x%x",
			 state->msrs[rc].index);
		free(msrs);
		return -1;
	}
	free(msrs);
	return rc < 0 ? fail(err, err_size, "KVM_SET_MSRS") : 0;
}

/* The fixed-size parts, in the order both directions take them (the
 * LAPIC only with the in-kernel irqchip); the MSRs and the events follow. */
struct vcpu_part {
	unsigned long get, set;
	size_t offset;
	const char *get_name, *set_name;
	bool is_lapic;
};

#define VCPU_PART(name, field, lapic)                                                              \
	{                                                                                          \
		KVM_GET_##name, KVM_SET_##name, offsetof(struct vcpu_state, field),                \
			"KVM_GET_" #name, "KVM_SET_" #name, lapic                                  \
	}

static const struct vcpu_part vcpu_parts[] = {
	VCPU_PART(MP_STATE, mp_state, false), VCPU_PART(REGS, regs, false),
	VCPU_PART(SREGS, sregs, false),	      VCPU_PART(XSAVE, xsave, false),
	VCPU_PART(XCRS, xcrs, false),	      VCPU_PART(DEBUGREGS, debugregs, false),
	VCPU_PART(LAPIC, lapic, true),
};

int vcpu_state_save(const struct vcpu *vcpu, const struct kvm_vm *vm, struct vcpu_state *out,
		    char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	out->has_lapic = vm->irqchip;
	for (size_t i = 0; i < sizeof(vcpu_parts) / sizeof(vcpu_parts[0]); i++) {
		const struct vcpu_part *p = &vcpu_parts[i];

		if ((!p->is_lapic || out->has_lapic) &&
		    ioctl(vcpu->fd, p->get, (uint8_t *)out + p->offset) < 0)
			return fail(err, err_size, p->get_name);
	}
	if (save_msrs(vcpu, vm, out) < 0)
		return fail(err, err_size, "KVM_GET_MSRS");
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &out->events) < 0)
		return fail(err, err_size, "KVM_GET_VCPU_EVENTS");
	return 0;
}

int vcpu_state_restore(const struct vcpu *vcpu, const struct vcpu_state *state, char *err,
		       size_t err_size)
{
	struct kvm_vcpu_events events = state->events;

	if (state->nr_msrs > VCPU_STATE_MAX_MSRS) {
		snprintf(err, err_size, "the snapshot names %u MSRs", state->nr_msrs);
		return -1;
	}
	for (size_t i = 0; i < sizeof(vcpu_parts) / sizeof(vcpu_parts[0]); i++) {
		const struct vcpu_part *p = &vcpu_parts[i];

		if ((!p->is_lapic || state->has_lapic) &&
		    ioctl(vcpu->fd, p->set, (const uint8_t *)state + p->offset) < 0)
			return fail(err, err_size, p->set_name);
	}
	if (restore_msrs(vcpu, state, err, err_size) < 0)
		return -1;
	events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return fail(err, err_size, "KVM_SET_VCPU_EVENTS");
	return 0;
}

static int64_t realtime_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec * 1000000000ll + now.tv_nsec;
}

int vm_kvm_state_save(const struct kvm_vm *vm, struct vm_kvm_state *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &out->clock) < 0)
		return fail(err, err_size, "KVM_GET_CLOCK");
	out->host_realtime_ns = realtime_ns();
	if (!vm->irqchip)
		return 0;
	for (uint32_t i = 0; i < 3; i++) {
		out->irqchip[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &out->irqchip[i]) < 0)
			return fail(err, err_size, "KVM_GET_IRQCHIP");
	}
	out->has_irqchip = 1;
	return 0;
}

int vm_kvm_state_restore(const struct kvm_vm *vm, const struct vm_kvm_state *state, bool advance,
			 char *err, size_t err_size)
{
	/* Only the value: the saved flags say which host clock it was read
	 * against. */
	struct kvm_clock_data clock = {.clock = state->clock.clock};
	int64_t now = realtime_ns();

	/* The saved time comes from the file: no overflow for any value. */
	if (advance && state->host_realtime_ns > 0 && now > state->host_realtime_ns)
		clock.clock += (uint64_t)now - (uint64_t)state->host_realtime_ns;

	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return fail(err, err_size, "KVM_SET_CLOCK");
	if (state->has_irqchip != vm->irqchip) {
		snprintf(err, err_size, "the snapshot was taken %s KVM's in-kernel irqchip",
			 state->has_irqchip ? "with" : "without");
		return -1;
	}
	for (uint32_t i = 0; state->has_irqchip && i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &state->irqchip[i]) < 0)
			return fail(err, err_size, "KVM_SET_IRQCHIP");
	return 0;
}
