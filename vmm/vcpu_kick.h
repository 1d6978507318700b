/* SPDX-License-Identifier: MIT */
/* Getting the vCPU thread out of KVM_RUN from another thread (a device
 * that must stop the VM): SIGUSR1 to that thread sets immediate_exit, so
 * KVM_RUN returns EINTR now or refuses to enter the guest next time. */
#ifndef LISPVM_VMM_VCPU_KICK_H
#define LISPVM_VMM_VCPU_KICK_H

#include <linux/kvm.h>

/* Called on the vCPU thread: kicks reach it and its run page.  0, or -1
 * with errno set. */
int vcpu_kick_attach(struct kvm_run *run);

/* Any thread: make the vCPU thread leave KVM_RUN. */
void vcpu_kick(void);

void vcpu_kick_detach(void);

#endif
