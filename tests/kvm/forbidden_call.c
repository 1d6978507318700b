/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD into lispvm for the sandbox tests: stands in for a VMM whose
 * code a guest has taken over, by making a call no filter allows
 * (socket(AF_INET)) from the thread LISPVM_TEST_FORBIDDEN names: "vCPU"
 * as it enters KVM_RUN the first time, "console" as that device thread
 * first waits.  Where the filter lets it through (--seccomp-log) the VMM
 * runs on as if nothing happened. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool wanted_here(const char *role)
{
	const char *want = getenv("LISPVM_TEST_FORBIDDEN");
	static __thread bool done;

	if (want == NULL || strcmp(want, role) != 0 || done)
		return false;
	done = true;
	return true;
}

static void forbidden_call(void)
{
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

	if (fd >= 0)
		close((int)fd);
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (real == NULL)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (request == KVM_RUN && wanted_here("vCPU"))
		forbidden_call();
	return real(fd, request, arg);
}

/* A device thread names itself before its filter, which has no prctl. */
static __thread bool console_thread;

int prctl(int option, ...)
{
	static int (*real)(int, ...);
	unsigned long a[4];
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (real == NULL)
		real = (int (*)(int, ...))dlsym(RTLD_NEXT, "prctl");
	if (option == PR_SET_NAME)
		console_thread = strcmp((const char *)a[0], "console") == 0;
	return real(option, a[0], a[1], a[2], a[3]);
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	static int (*real)(struct pollfd *, nfds_t, int);

	if (real == NULL)
		real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	if (console_thread && wanted_here("console"))
		forbidden_call();
	return real(fds, n, timeout);
}
