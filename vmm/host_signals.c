/* SPDX-License-Identifier: MIT */
#include "host_signals.h"

#include <signal.h>
#include <stddef.h>

#include "vcpu_kick.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static volatile uint64_t caught; /* updated only in the handler, read-and-cleared outside */
static volatile sig_atomic_t guest_ready;
static struct sigaction previous[sizeof(forwarded) / sizeof(forwarded[0])];
static bool catching;

static void on_signal(int sig)
{
	__atomic_or_fetch(&caught, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
	vcpu_kick_from_handler();
}

int host_signals_catch(void)
{
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		if (vcpu_kick_catch(forwarded[i], on_signal, &previous[i]) < 0)
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
