/* SPDX-License-Identifier: MIT */
#include "vcpu_kick.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define KICK_SIGNAL SIGUSR1

static struct kvm_run *volatile kick_run;
static pthread_t vcpu_thread;
static struct sigaction previous_kick_action;
static volatile bool attached;

void vcpu_kick_from_handler(void)
{
	struct kvm_run *run = kick_run;

	if (run != NULL)
		run->immediate_exit = 1;
}

static void on_kick(int sig)
{
	(void)sig;
	vcpu_kick_from_handler();
}

int vcpu_kick_catch(int sig, void (*handler)(int), struct sigaction *previous)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	sigemptyset(&action.sa_mask);
	return sigaction(sig, &action, previous);
}

int vcpu_kick_attach(struct kvm_run *run)
{
	kick_run = run;
	vcpu_thread = pthread_self();
	if (vcpu_kick_catch(KICK_SIGNAL, on_kick, &previous_kick_action) < 0)
		return -1;
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
	if (attached) {
		attached = false;
		sigaction(KICK_SIGNAL, &previous_kick_action, NULL);
	}
	kick_run = NULL;
}
