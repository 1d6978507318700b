/* SPDX-License-Identifier: MIT */
/* The seccomp allowlists of the VMM's thread roles, as data: which system
 * calls each role may make, with the argument checks that narrow them.
 * sandbox.c turns them into filters and adds the rules whose values are
 * known only at run time (this process's id, the mount roots). */
#ifndef LISPVM_VMM_SECCOMP_RULES_H
#define LISPVM_VMM_SECCOMP_RULES_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include "sandbox.h"

/* One allowed system call; with conditions, only where all of them hold.
 * Entries for the same call are alternatives.  refuse_errno: the call is
 * answered with this error instead of running (a call libc falls back
 * from, never a violation). */
struct seccomp_allow {
	int nr;
	unsigned int nr_conds;
	struct scmp_arg_cmp conds[2];
	int refuse_errno;
};

struct seccomp_allow_list {
	const struct seccomp_allow *allow;
	size_t n;
};

/* What varies a role's list beyond the role itself. */
struct seccomp_rule_choice {
	bool hostfs;		/* the VM has --mount directories */
	bool snapshot_files;	/* it may write snapshots by path */
	bool running_snapshots; /* into files handed over its control socket */
	bool removes_sockets;	/* its vsock or control socket goes at exit */
};

/* The lists making up role's allowlist; returns how many were stored in
 * lists (at most max). */
size_t seccomp_rules_for(enum sandbox_role role, const struct seccomp_rule_choice *choice,
			 struct seccomp_allow_list *lists, size_t max);

/* Whether role kicks the vCPU thread out of KVM_RUN (tgkill with SIGUSR1
 * to this process only, added at run time). */
bool seccomp_role_kicks_vcpu(enum sandbox_role role);

#endif
