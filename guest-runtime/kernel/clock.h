/* SPDX-License-Identifier: MIT */
/* The monotonic clock: KVM's pvclock when present, else the TSC calibrated
 * from CPUID leaves 0x15/0x16 or the PIT. */
#ifndef GUEST_KERNEL_CLOCK_H
#define GUEST_KERNEL_CLOCK_H

#include <stdint.h>

#define NSEC_PER_SEC 1000000000ull

void clock_init(void);
uint64_t clock_monotonic_ns(void);
/* Wall-clock time (kvmclock's wall clock; without it, counts from the
 * epoch at boot, which only QEMU tests see). */
uint64_t clock_realtime_ns(void);
uint64_t clock_tsc_hz(void);
/* After a snapshot restore: monotonic time went on from where it stopped,
 * but the wall clock moved; read it again. */
void clock_resume(void);
/* Waits until CLOCK_MONOTONIC reaches deadline (no timer interrupt yet:
 * the scheduler brings one). */
void clock_wait_until(uint64_t deadline);
const char *clock_source_name(void);

#endif
