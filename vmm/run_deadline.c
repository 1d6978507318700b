/* SPDX-License-Identifier: MIT */
#include "run_deadline.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static struct kvm_run *volatile deadline_run;
static volatile sig_atomic_t deadline_passed;
static struct sigaction previous_action;
static bool armed;

static void on_alarm(int sig)
{
	(void)sig;
	deadline_passed = 1;
	if (deadline_run != NULL)
		deadline_run->immediate_exit = 1;
}

int run_deadline_arm(struct kvm_run *run, unsigned int seconds)
{
	struct sigaction action;

	if (seconds == 0)
		return 0;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_alarm;
	sigemptyset(&action.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	if (sigaction(SIGALRM, &action, &previous_action) < 0)
		return -1;
	deadline_run = run;
	deadline_passed = 0;
	armed = true;
	alarm(seconds);
	return 0;
}

bool run_deadline_expired(void)
{
	return deadline_passed != 0;
}

void run_deadline_disarm(void)
{
	if (!armed)
		return;
	alarm(0);
	sigaction(SIGALRM, &previous_action, NULL);
	deadline_run = NULL;
	armed = false;
}
