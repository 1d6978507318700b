/* SPDX-License-Identifier: MIT */
#include "kernel/clock.h"

#include <string.h>

#include "arch/x86/cpu.h"
#include "kernel/memory.h"
#include "kernel/percpu.h"

/* KVM paravirtual clock (Documentation/virt/kvm/x86/msr.rst). */
#define KVM_CPUID_SIGNATURE	 0x40000000u
#define KVM_CPUID_FEATURES	 0x40000001u
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_WALL_CLOCK_NEW	 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW	 0x4b564d01u
#define PVCLOCK_TSC_STABLE_BIT	 (1u << 0)

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

/* The wall-clock time at which kvmclock read zero. */
struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

static struct pvclock_wall_clock wall_clock __attribute__((aligned(16)));

/* i8254 PIT, for calibrating the TSC where nothing better exists. */
#define PIT_HZ		    1193182ull
#define PIT_CHANNEL0	    0x40
#define PIT_COMMAND	    0x43
#define PIT_CALIBRATE_TICKS 11932 /* ~10 ms */

enum clock_source { CLOCK_UNCALIBRATED, CLOCK_KVM, CLOCK_CPUID, CLOCK_PIT };

static struct {
	enum clock_source source;
	uint64_t tsc_hz;
	uint64_t tsc_origin;
	/* TSC -> ns as (delta * mult) >> 32 in 128 bits. */
	uint64_t mult;
	uint64_t realtime_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
} clock;

static struct pvclock_vcpu_time_info pvclock[MAX_CPUS] __attribute__((aligned(64)));

static int kvm_clock_available(void)
{
	struct cpuid_regs sig = cpuid(KVM_CPUID_SIGNATURE, 0);
	char name[13];

	memcpy(name, &sig.ebx, 4);
	memcpy(name + 4, &sig.ecx, 4);
	memcpy(name + 8, &sig.edx, 4);
	name[12] = '\0';
	if (strcmp(name, "KVMKVMKVM") != 0 || sig.eax < KVM_CPUID_FEATURES)
		return 0;
	return (cpuid(KVM_CPUID_FEATURES, 0).eax & KVM_FEATURE_CLOCKSOURCE2) != 0;
}

static uint64_t scale_delta(uint64_t delta, uint32_t mult, int shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mult) >> 32);
}

/* The latest kvmclock value returned.  Where the host's TSCs are not in
 * step, the vCPU's TSC may lag the one the host last sampled when its
 * thread moved to another host CPU, and a reading would go back (the
 * clock selftest saw it inside the nested helper machine, whose emulated
 * CPUs' TSCs drift apart).  As Linux's pvclock does when the host does not
 * promise a stable TSC, and here always (a host's promise can be wrong),
 * no reading is below the last. */
static uint64_t kvm_clock_last;

static uint64_t never_back(uint64_t ns)
{
	uint64_t last = __atomic_load_n(&kvm_clock_last, __ATOMIC_RELAXED);

	do {
		if (ns <= last)
			return last;
	} while (!__atomic_compare_exchange_n(&kvm_clock_last, &last, ns, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return ns;
}

static uint64_t kvm_clock_read(void)
{
	const volatile struct pvclock_vcpu_time_info *t = &pvclock[this_cpu()->cpu_id];
	uint32_t version;
	uint64_t ns;

	do {
		version = t->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		ns = t->system_time +
		     scale_delta(rdtsc() - t->tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != t->version);
	return never_back(ns);
}

static void kvm_clock_init(void)
{
	const volatile struct pvclock_vcpu_time_info *t = &pvclock[this_cpu()->cpu_id];
	uint64_t hz;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, virt_to_phys(t) | 1);
	while (t->version == 0 || (t->version & 1))
		cpu_relax();
	/* ns = (tsc << shift) * mul / 2^32, so hz = 2^32 * 1e9 / (mul << shift). */
	hz = (NSEC_PER_SEC << 32) / t->tsc_to_system_mul;
	clock.tsc_hz = t->tsc_shift >= 0 ? hz >> t->tsc_shift : hz << -t->tsc_shift;
	clock.source = CLOCK_KVM;
}

static uint64_t cpuid_tsc_hz(void)
{
	uint32_t max = cpuid(0, 0).eax;
	struct cpuid_regs r;

	if (max >= 0x15) {
		r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx)
			return (uint64_t)r.ecx * r.ebx / r.eax;
	}
	if (max >= 0x16) {
		r = cpuid(0x16, 0);
		if (r.eax & 0xffff)
			return (uint64_t)(r.eax & 0xffff) * 1000000;
	}
	return 0;
}

static uint16_t pit_read_channel0(void)
{
	uint8_t lo, hi;

	outb(PIT_COMMAND, 0x00); /* latch channel 0 */
	lo = inb(PIT_CHANNEL0);
	hi = inb(PIT_CHANNEL0);
	return (uint16_t)(lo | (hi << 8));
}

/* Channel 0 in mode 2 counts down from 65536 forever; time how many TSC
 * ticks pass while it counts PIT_CALIBRATE_TICKS. */
static uint64_t pit_tsc_hz(void)
{
	uint64_t tsc_start, tsc_end, elapsed = 0;
	uint16_t prev, now;

	outb(PIT_COMMAND, 0x34); /* channel 0, lo/hi, mode 2 */
	outb(PIT_CHANNEL0, 0);
	outb(PIT_CHANNEL0, 0);
	prev = pit_read_channel0();
	tsc_start = rdtsc();
	for (uint64_t spins = 0; elapsed < PIT_CALIBRATE_TICKS; spins++) {
		now = pit_read_channel0();
		elapsed += (uint16_t)(prev - now);
		prev = now;
		if (spins > 10000000)
			return 0; /* no PIT */
	}
	tsc_end = rdtsc();
	return (tsc_end - tsc_start) * PIT_HZ / elapsed;
}

/* KVM writes the wall clock of its time base on request; kvmclock's
 * system_time counts from the same base. */
static void read_kvm_wall_clock(void)
{
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, virt_to_phys(&wall_clock));
	clock.realtime_offset = (uint64_t)wall_clock.sec * NSEC_PER_SEC + wall_clock.nsec;
}

void clock_init(void)
{
	clock.tsc_origin = rdtsc();
	if (kvm_clock_available()) {
		kvm_clock_init();
		read_kvm_wall_clock();
		return;
	}
	clock.tsc_hz = cpuid_tsc_hz();
	clock.source = CLOCK_CPUID;
	if (clock.tsc_hz == 0) {
		clock.tsc_hz = pit_tsc_hz();
		clock.source = CLOCK_PIT;
	}
	if (clock.tsc_hz == 0) {
		clock.tsc_hz = NSEC_PER_SEC; /* a guess beats no clock */
		clock.source = CLOCK_UNCALIBRATED;
	}
	clock.mult = (NSEC_PER_SEC << 32) / clock.tsc_hz;
}

uint64_t clock_monotonic_ns(void)
{
	if (clock.source == CLOCK_KVM)
		return kvm_clock_read();
	/* 128-bit product: no overflow for any 64-bit TSC delta. */
	return (uint64_t)(((unsigned __int128)(rdtsc() - clock.tsc_origin) * clock.mult) >> 32);
}

uint64_t clock_realtime_ns(void)
{
	return clock_monotonic_ns() + clock.realtime_offset;
}

void clock_wait_until(uint64_t deadline)
{
	while (clock_monotonic_ns() < deadline)
		cpu_relax();
}

void clock_resume(void)
{
	if (clock.source == CLOCK_KVM)
		read_kvm_wall_clock();
}

uint64_t clock_tsc_hz(void)
{
	return clock.tsc_hz;
}

const char *clock_source_name(void)
{
	static const char *const names[] = {
		[CLOCK_UNCALIBRATED] = "tsc-uncalibrated",
		[CLOCK_KVM] = "kvmclock",
		[CLOCK_CPUID] = "tsc-cpuid",
		[CLOCK_PIT] = "tsc-pit",
	};

	return names[clock.source];
}
