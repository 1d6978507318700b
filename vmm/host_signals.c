/* SPDX-License-Identifier: MIT */
#include "host_signals.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static struct kvm_run *volatile signal_run;
static volatile uint64_t caught; /* updated only in the handler, read-and-cleared outside */
static volatile sig_atomic_t guest_ready;
static struct sigaction previous[sizeof(forwarded) / sizeof(forwarded[0])];
static bool catching;

static void on_signal(int sig)
{
	__atomic_or_fetch(&caught, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
	if (signal_run != NULL)
		signal_run->immediate_exit = 1;
}

int host_signals_catch(struct kvm_run *run)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = on_signal;
	sigemptyset(&action.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	signal_run = run;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		if (sigaction(forwarded[i], &action, &previous[i]) < 0)
			return -1;
	catching = true;
	return 0;
}

void host_signals_release(void)
{
	if (!catching)
		return;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &previous[i], NULL);
	signal_run = NULL;
	catching = false;
}

uint64_t host_signals_pending(void)
{
	return __atomic_load_n(&caught, __ATOMIC_SEQ_CST);
}

uint64_t host_signals_take(void)
{
	return __atomic_exchange_n(&caught, 0, __ATOMIC_SEQ_CST);
}

void host_signals_set_ready(void)
{
	guest_ready = 1;
}

bool host_signals_ready(void)
{
	return guest_ready != 0;
}
