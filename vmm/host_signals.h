/* SPDX-License-Identifier: MIT */
/*
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to lispvm (Ctrl-C on its
 * terminal, kill) are the program's: once the guest says it can take
 * them, they reach it as an MSI on KVM's in-kernel LAPIC and the guest
 * fetches them with LISPVM_HC_HOST_SIGNALS.  Before that, they end the
 * VM with 128+signal, as for a program with no handler.
 */
#ifndef LISPVM_VMM_HOST_SIGNALS_H
#define LISPVM_VMM_HOST_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

/* Catches the signals; each makes KVM_RUN return (vcpu_kick.h). */
int host_signals_catch(void);
void host_signals_release(void);

/* Signals caught and not yet handed over (bit n-1 = signal n). */
uint64_t host_signals_pending(void);
/* Takes them all: what LISPVM_HC_HOST_SIGNALS returns. */
uint64_t host_signals_take(void);

/* The guest's readiness (LISPVM_HC_HOST_SIGNALS with args[0] = 1). */
void host_signals_set_ready(void);
bool host_signals_ready(void);

#endif
