// SPDX-License-Identifier: MIT
// Reproducer, no lispvm involved: unmask SSE divide-by-zero in MXCSR and
// divide by zero.  A CPU raises #XM and the program dies of SIGFPE
// (exit 136 from a shell); QEMU 7.2's TCG raises nothing and it prints
// "inf" (docs/testing.md).
#include <stdio.h>
#include <xmmintrin.h>

int main(void)
{
	volatile float zero = 0.0f, one = 1.0f;

	_mm_setcsr(_mm_getcsr() & ~_MM_MASK_DIV_ZERO);
	printf("%f\n", one / zero);
	return 0;
}
