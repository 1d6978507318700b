/* SPDX-License-Identifier: MIT */
/*
 * New processes do not exist in lispvm's one address space: fork, vfork
 * and fork-like clone and clone3 fail with ENOSYS, and the program goes
 * on (tests/exec/exec.py; natively they would succeed, so there is no
 * native run to compare with).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long rc)
{
	printf("%s: %ld %s\n", what, rc, rc < 0 ? strerror(errno) : "");
}

int main(void)
{
	struct clone_args fork_like = {.exit_signal = SIGCHLD};

	show("fork", syscall(SYS_fork));
	show("vfork", syscall(SYS_vfork));
	show("clone", syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0));
	show("clone3", syscall(SYS_clone3, &fork_like, sizeof(fork_like)));
	printf("still running\n");
	return 0;
}
