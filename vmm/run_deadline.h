/* SPDX-License-Identifier: MIT */
/* A wall-clock limit on a running guest (--timeout): SIGALRM kicks the vCPU
 * out of KVM_RUN (vcpu_kick.h). */
#ifndef LISPVM_VMM_RUN_DEADLINE_H
#define LISPVM_VMM_RUN_DEADLINE_H

#include <stdbool.h>

/* Arms a deadline `seconds` from now for the vCPU attached to vcpu_kick;
 * 0 means none.  Returns 0, or -1 with errno set. */
int run_deadline_arm(unsigned int seconds);

/* True once the deadline has passed. */
bool run_deadline_expired(void);

/* Cancels the deadline and restores the previous SIGALRM disposition. */
void run_deadline_disarm(void);

#endif
