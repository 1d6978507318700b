/* SPDX-License-Identifier: MIT */
#include "vcpu_kick.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define KICK_SIGNAL SIGUSR1

static struct kvm_run *volatile kick_run;
static pthread_t vcpu_thread;
static struct sigaction previous_action;
static volatile bool attached;

static void on_kick(int sig)
{
	(void)sig;
	if (kick_run != NULL)
		kick_run->immediate_exit = 1;
}

int vcpu_kick_attach(struct kvm_run *run)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = on_kick;
	sigemptyset(&action.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	if (sigaction(KICK_SIGNAL, &action, &previous_action) < 0)
		return -1;
	kick_run = run;
	vcpu_thread = pthread_self();
	attached = true;
	return 0;
}

void vcpu_kick(void)
{
	if (attached)
		pthread_kill(vcpu_thread, KICK_SIGNAL);
}

void vcpu_kick_detach(void)
{
	if (!attached)
		return;
	attached = false;
	sigaction(KICK_SIGNAL, &previous_action, NULL);
	kick_run = NULL;
}
