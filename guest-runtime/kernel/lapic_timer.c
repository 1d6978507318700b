/* SPDX-License-Identifier: MIT */
#include "kernel/lapic_timer.h"

#include <stdint.h>

#include "arch/x86/cpu.h"
#include "kernel/clock.h"

#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

#define MSR_APIC_BASE	     0x1b
#define APIC_BASE_ENABLE     (1ull << 11)
#define APIC_BASE_X2APIC     (1ull << 10)
#define MSR_X2APIC_EOI	     0x80b
#define MSR_X2APIC_SVR	     0x80f
#define MSR_X2APIC_LVT_TIMER 0x832
#define MSR_TSC_DEADLINE     0x6e0

#define SVR_ENABLE	       (1u << 8)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)

#define TICKS_PER_SECOND 100 /* a 10 ms time slice, as Linux's default HZ */

static uint64_t tsc_per_tick; /* 0 until the timer runs */

static void arm(void)
{
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + tsc_per_tick);
}

bool lapic_timer_start(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	if (!(r.ecx & CPUID1_ECX_X2APIC) || !(r.ecx & CPUID1_ECX_TSC_DEADLINE) ||
	    clock_tsc_hz() == 0)
		return false;
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	wrmsr(MSR_X2APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	wrmsr(MSR_X2APIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | TIMER_VECTOR);
	tsc_per_tick = clock_tsc_hz() / TICKS_PER_SECOND;
	arm();
	return true;
}

void lapic_eoi(void)
{
	wrmsr(MSR_X2APIC_EOI, 0);
}

void lapic_timer_tick(void)
{
	lapic_eoi();
	arm();
}

bool lapic_timer_running(void)
{
	return tsc_per_tick != 0;
}

#define MAX_SLEEP_NS 10000000000ull /* 10 s */

void lapic_timer_sleep_until(uint64_t deadline_ns)
{
	uint64_t now = clock_monotonic_ns(), delta;

	if (deadline_ns == UINT64_MAX) {
		wrmsr(MSR_TSC_DEADLINE, 0); /* disarmed: only a device or the host wakes us */
		return;
	}
	delta = deadline_ns > now ? deadline_ns - now : 0;
	if (delta > MAX_SLEEP_NS)
		delta = MAX_SLEEP_NS;
	/* At most 1e10 ns times at most 1e7 TSC ticks per us: no overflow. */
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + delta * (clock_tsc_hz() / 1000) / 1000000 + 1);
}

void lapic_timer_resume(void)
{
	arm();
}
