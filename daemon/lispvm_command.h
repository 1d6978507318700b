/* SPDX-License-Identifier: MIT */
/* A lispvm command the daemon runs about one of its VMs (lispvm gc,
 * lispvm snapshot), as the VM's user and with the environment the VM
 * itself got, so that it finds the VM by name where the VM put its
 * sockets and writes files with their rights only. */
#ifndef LISPVM_DAEMON_LISPVM_COMMAND_H
#define LISPVM_DAEMON_LISPVM_COMMAND_H

#include <stddef.h>
#include <sys/types.h>

/* Runs argv (argv[0]: the lispvm binary), as caller's VMs run
 * (vm_user.h), to its end: 0 when it exited 0,
 * else -1.  Either way out holds the first line it wrote (stdout and
 * stderr together), or on failure a reason.  A command still running
 * after timeout_s seconds, or when the daemon begins to end, is killed
 * (so no request, and no shutdown, waits on it for ever). */
int lispvm_command_run(const char *const *argv, uid_t caller, int timeout_s, char *out,
		       size_t out_size);

/* The same command started and left running, its stdin, stdout and stderr
 * fds (stdin -1: /dev/null), with extra_env ("NAME=VALUE", or NULL) added
 * to its environment: its pid, or -1 with a reason in err. */
pid_t lispvm_command_spawn(const char *const *argv, uid_t caller, const int fds[3],
			   const char *extra_env, char *err, size_t err_size);

#endif
