/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer, for preempting threads: x2APIC (MSR access) in
 * TSC-deadline mode, re-armed on every tick.  KVM's in-kernel LAPIC runs
 * it without a VM exit per tick.
 */
#ifndef GUEST_KERNEL_LAPIC_TIMER_H
#define GUEST_KERNEL_LAPIC_TIMER_H

#include <stdbool.h>

#define TIMER_VECTOR	32
#define SPURIOUS_VECTOR 33

/* Starts the periodic tick; false where there is no x2APIC with
 * TSC-deadline mode (threads then switch only when they block). */
bool lapic_timer_start(void);

/* Acknowledges the tick and arms the next one. */
void lapic_timer_tick(void);

/* Acknowledges any other interrupt. */
void lapic_eoi(void);

/* True once the timer runs: an idle CPU may then halt until a tick. */
bool lapic_timer_running(void);

#endif
