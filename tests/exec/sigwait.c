// SPDX-License-Identifier: MIT
// Waits for SIGINT or SIGTERM sent to lispvm: with argument "handle" a
// handler reports the signal and the program exits 0; without, the
// default action ends it.  Prints "ready" once it waits.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "handle") == 0) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	printf("ready\n");
	fflush(stdout);
	while (!got)
		pause();
	printf("got %s\n", got == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}
