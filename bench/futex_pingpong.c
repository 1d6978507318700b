// SPDX-License-Identifier: MIT
// Two threads hand a token back and forth through one futex word, N
// times: each hand-off is a FUTEX_WAKE by one thread and a FUTEX_WAIT
// returning in the other.  Prints the mean nanoseconds per wake/wait
// pair.  Built and run by bench/signals.py.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int turn; // 0: main's turn, 1: the other's
static long rounds;

static void wait_for(int want)
{
	int now;

	while ((now = turn) != want)
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, now, NULL, NULL, 0);
}

static void hand_to(int next)
{
	turn = next;
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *other(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		wait_for(1);
		hand_to(0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t t;

	rounds = argc > 1 ? atol(argv[1]) : 1000;
	pthread_create(&t, NULL, other, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < rounds; i++) {
		hand_to(1);
		wait_for(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	// Two hand-offs per round.
	printf("%.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (2.0 * rounds));
	return 0;
}
