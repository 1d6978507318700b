/* SPDX-License-Identifier: MIT */
#include "kernel/entropy.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "kernel/hypercall.h"
#include "kernel/memory.h"
#include "kernel/platform.h"
#include "kernel/spinlock.h"

static struct {
	struct spinlock lock;
	uint8_t buf[LISPVM_RANDOM_MAX];
	uint64_t state;
} entropy;

static int from_host(uint8_t *dst, size_t len)
{
	while (len > 0) {
		size_t n = len < sizeof(entropy.buf) ? len : sizeof(entropy.buf);

		spin_lock(&entropy.lock);
		if (hypercall3(LISPVM_HC_GETRANDOM, virt_to_phys(entropy.buf), n, 0) !=
		    (int64_t)n) {
			spin_unlock(&entropy.lock);
			return -EIO;
		}
		memcpy(dst, entropy.buf, n);
		spin_unlock(&entropy.lock);
		dst += n;
		len -= n;
	}
	return 0;
}

static int rdrand64(uint64_t *v)
{
	unsigned char ok;

	__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
	return ok;
}

/* splitmix64 over the TSC: only for QEMU tests without RDRAND. */
static uint64_t fallback64(void)
{
	uint64_t z;

	entropy.state += 0x9e3779b97f4a7c15ull ^ rdtsc();
	z = entropy.state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void from_cpu(uint8_t *dst, size_t len)
{
	int have_rdrand = (cpuid(1, 0).ecx >> 30) & 1;

	while (len > 0) {
		uint64_t v;
		size_t n = len < sizeof(v) ? len : sizeof(v);

		if (!have_rdrand || !rdrand64(&v))
			v = fallback64();
		memcpy(dst, &v, n);
		dst += n;
		len -= n;
	}
}

int entropy_fill(void *buf, size_t len)
{
	if (platform_kind() == PLATFORM_LISPVM)
		return from_host(buf, len);
	from_cpu(buf, len);
	return 0;
}
