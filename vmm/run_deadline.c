/* SPDX-License-Identifier: MIT */
#include "run_deadline.h"

#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#include "vcpu_kick.h"

static volatile sig_atomic_t deadline_passed;
static struct sigaction previous_action;
static bool armed;

static void on_alarm(int sig)
{
	(void)sig;
	deadline_passed = 1;
	vcpu_kick_from_handler();
}

int run_deadline_arm(unsigned int seconds)
{
	if (seconds == 0)
		return 0;
	deadline_passed = 0;
	if (vcpu_kick_catch(SIGALRM, on_alarm, &previous_action) < 0)
		return -1;
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
	armed = false;
}
