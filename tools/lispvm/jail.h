/* SPDX-License-Identifier: MIT */
/*
 * lispvm --jail: the VMM runs in new mount, PID, IPC, UTS and network
 * namespaces, in a root that holds only the files its VM was given (each
 * at its own path), as an unprivileged user with no capabilities and
 * bounded file descriptors, and (run by root) in a cgroup limiting its
 * memory, pids and CPU (docs/security.md, "The jail").  The VMM keeps
 * the caller's uid (root's too) in a user namespace of its own, where it
 * then drops every capability; as root, --jail-user runs it as another,
 * unprivileged user instead, which must be able to use the VM's files.
 *
 * Three processes: lispvm itself stays outside (it makes the VM's
 * sockets, runs the Swank bridge, takes a warm VM's program, passes on
 * signals sent to it, and cleans up), a keeper holds the namespaces and
 * waits, and the VMM is the first process of the new PID namespace.
 */
#ifndef LISPVM_JAIL_H
#define LISPVM_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "vm.h"

/* What the VMM may use beyond its guest's RAM: its own memory, the
 * images' page cache, KVM's structures. */
#define JAIL_VMM_MEMORY (512ull << 20)
#define JAIL_PIDS_MAX	64 /* the VMM's threads and the keeper */

struct jail_options {
	bool enabled;
	bool user_given; /* --jail-user: uid and gid */
	uid_t uid;
	gid_t gid;
	unsigned int cpu_percent; /* --jail-cpus N as percent of one CPU; 0: no limit */
};

/* Runs config's VM as vm_run would, in a jail; returns its exit status
 * (LISPVM_EXIT_HOST_ERROR after one line when the jail cannot be made). */
int jail_run(const struct vm_config *config, const struct jail_options *opts);

/* jail_run, with beside(arg) run here, outside the jail, once the VMM is
 * on its way (a warm VM's supervisor, pooled_vm.c); jail_run waits for
 * the VM after it returns.  outside_fd, unless -1, is a descriptor only
 * this side keeps: the keeper and the VMM close their copies. */
int jail_run_beside(const struct vm_config *config, const struct jail_options *opts,
		    void (*beside)(void *arg), void *arg, int outside_fd);

#endif
