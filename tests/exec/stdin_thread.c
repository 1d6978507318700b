/* SPDX-License-Identifier: MIT */
/*
 * stdin while other things happen, driven by tests/exec/exec.py, which
 * holds stdin open until it has seen the output it waits for:
 *   reader   a thread reads stdin to the end while the main thread
 *            computes and prints; the print must come out first
 *   alarm    a read of stdin that SIGALRM (handler, no SA_RESTART) ends
 *            with EINTR
 *   poll     poll on stdin times out with no input, then sees it
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static char input[4096];
static size_t input_len;

static void *read_all_of_stdin(void *arg)
{
	ssize_t n;

	(void)arg;
	while (input_len < sizeof(input) - 1 &&
	       (n = read(0, input + input_len, sizeof(input) - 1 - input_len)) > 0)
		input_len += (size_t)n;
	return NULL;
}

static unsigned long compute(void)
{
	volatile unsigned long x = 0;

	for (unsigned long i = 0; i < 20000000; i++)
		x += i * i;
	return x;
}

static int reader(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, read_all_of_stdin, NULL) != 0)
		return 2;
	printf("computed %lu\n", compute() % 1000);
	fflush(stdout);
	pthread_join(t, NULL);
	printf("reader got: %s", input);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int alarm_read(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {.it_value = {.tv_usec = 200000}};
	char c;
	ssize_t n;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	n = read(0, &c, 1);
	printf("read returned %zd (%s)\n", n, n < 0 ? strerror(errno) : "data");
	fflush(stdout);
	return 0;
}

static int poll_stdin(void)
{
	struct pollfd p = {.fd = 0, .events = POLLIN};
	ssize_t n;

	printf("first poll: %d\n", poll(&p, 1, 200));
	fflush(stdout);
	printf("second poll: %d revents %s\n", poll(&p, 1, -1),
	       (p.revents & POLLIN) ? "POLLIN" : "none");
	n = read(0, input, sizeof(input) - 1);
	printf("then read: %.*s", (int)(n > 0 ? n : 0), input);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "reader") == 0)
		return reader();
	if (strcmp(mode, "alarm") == 0)
		return alarm_read();
	if (strcmp(mode, "poll") == 0)
		return poll_stdin();
	fprintf(stderr, "usage: stdin_thread reader|alarm|poll\n");
	return 2;
}
