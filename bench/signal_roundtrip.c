// SPDX-License-Identifier: MIT
// One trap -> handler -> rt_sigreturn round trip, timed N times: ud2
// raises SIGILL, the handler moves RIP past it in the ucontext.  Prints
// the mean in nanoseconds.  Built and run by bench/signals.py.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	struct sigaction sa = {.sa_sigaction = skip_ud2, .sa_flags = SA_SIGINFO};
	struct timespec a, b;

	sigaction(SIGILL, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		__asm__ volatile("ud2");
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
