/* SPDX-License-Identifier: MIT */
/* A wall-clock limit on a running guest (--timeout): SIGALRM kicks the vCPU
 * out of KVM_RUN through kvm_run.immediate_exit, which has no window in
 * which the signal can be lost between checking and re-entering the guest. */
#ifndef LISPVM_VMM_RUN_DEADLINE_H
#define LISPVM_VMM_RUN_DEADLINE_H

#include <linux/kvm.h>
#include <stdbool.h>

/* Arms a deadline `seconds` from now for the vCPU whose shared run page is
 * `run`; 0 means none.  Returns 0, or -1 with errno set. */
int run_deadline_arm(struct kvm_run *run, unsigned int seconds);

/* True once the deadline has passed. */
bool run_deadline_expired(void);

/* Cancels the deadline and restores the previous SIGALRM disposition. */
void run_deadline_disarm(void);

#endif
