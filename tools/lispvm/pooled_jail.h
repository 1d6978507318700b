/* SPDX-License-Identifier: MIT */
/*
 * A jailed warm VM (lispvm run --jail --snapshot FILE --pooled SOCKET):
 * the VMM restores the machine inside its jail, and lispvm stays outside
 * as its supervisor.  The supervisor takes the invocation on SOCKET as an
 * unjailed warm VM does (pooled_vm.c) and resolves it there, as the user:
 * the program, the cache, the images, the mounts.  It then hands the VMM,
 * over a socket pair made before the jail, what the program gets: its
 * argv, environment, working directory and terminal, its --timeout, and
 * each mount with its root as a descriptor (mount_roots.h), since the
 * jail shows none of those paths.
 *
 * The pair carries, from the VMM: "R" once the machine is restored, "K"
 * once it holds the invocation; to it: one invocation, or a refusal that
 * ends it with a reason (a stale pool).  Either side's end closing ends
 * the other's wait.
 */
#ifndef LISPVM_TOOLS_POOLED_JAIL_H
#define LISPVM_TOOLS_POOLED_JAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "vm.h"

struct pooled_jail {
	int outside; /* the supervisor's end */
	int inside;  /* the VMM's */
};

/* 0, or -1 with a one-line reason. */
int pooled_jail_open(struct pooled_jail *pj, char *err, size_t err_size);

/* In the VMM, its vm_config.await_invocation (arg: the pooled_jail):
 * says the machine is ready and waits for the invocation. */
const struct vm_config *pooled_jail_receive(void *arg, const struct vm_config *machine, char *err,
					    size_t err_size);

/* Outside: waits for the VMM's "R"; false when it ended first. */
bool pooled_jail_ready(const struct pooled_jail *pj);

/* Outside: what an invocation asks that a jailed warm VM cannot give, or
 * NULL. */
const char *pooled_jail_misfit(const struct cli_options *o);

/* Outside: hands the VMM invocation's program, mounts and timeout.  0
 * once it took them; -1 with a one-line reason, *stale when the VMM can
 * take no other (it ended, or holds part of this one). */
int pooled_jail_hand_over(const struct pooled_jail *pj, const struct vm_config *invocation,
			  char *why, size_t size, bool *stale);

/* Outside: the VMM ends, saying why (a whole message). */
void pooled_jail_refuse(const struct pooled_jail *pj, const char *why);

#endif
