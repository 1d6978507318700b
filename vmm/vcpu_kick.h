/* SPDX-License-Identifier: MIT */
/*
 * Getting the vCPU thread out of KVM_RUN: from a signal handler (--timeout,
 * signals for the guest) or from another thread (a device that must stop
 * the VM, with SIGUSR1 to the vCPU thread).  Every way sets the run page's
 * immediate_exit, so KVM_RUN returns EINTR now or refuses to enter the
 * guest next time: there is no window in which a kick is lost between
 * checking and re-entering.
 */
#ifndef LISPVM_VMM_VCPU_KICK_H
#define LISPVM_VMM_VCPU_KICK_H

#include <linux/kvm.h>
#include <signal.h>

/* Called on the vCPU thread before the others below: kicks reach it and
 * its run page.  0, or -1 with errno set. */
int vcpu_kick_attach(struct kvm_run *run);

/* Installs handler for sig without SA_RESTART (KVM_RUN must return
 * EINTR), saving the old action in previous.  0, or -1 with errno. */
int vcpu_kick_catch(int sig, void (*handler)(int), struct sigaction *previous);

/* In a signal handler: make KVM_RUN return.  Async-signal-safe. */
void vcpu_kick_from_handler(void);

/* Any thread: make the vCPU thread leave KVM_RUN. */
void vcpu_kick(void);

void vcpu_kick_detach(void);

#endif
