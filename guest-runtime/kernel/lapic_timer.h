/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer, for preempting threads: x2APIC (MSR access) in
 * TSC-deadline mode, re-armed on every tick.  KVM's in-kernel LAPIC runs
 * it without a VM exit per tick.
 */
#ifndef GUEST_KERNEL_LAPIC_TIMER_H
#define GUEST_KERNEL_LAPIC_TIMER_H

#include <stdbool.h>
#include <stdint.h>

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

/* For an idle CPU: no ticks, one interrupt at deadline_ns (monotonic; at
 * most a few seconds ahead, so a clock that drifts is looked at again) or
 * none at all for UINT64_MAX.  The next tick re-arms the periodic tick,
 * and so does lapic_timer_resume(), for when something else woke the CPU. */
void lapic_timer_sleep_until(uint64_t deadline_ns);
void lapic_timer_resume(void);

#endif
