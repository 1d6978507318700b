/* SPDX-License-Identifier: MIT */
/*
 * What the VMM gives up before it runs guest code: new privileges, and
 * every system call its threads do not need.  Each thread installs the
 * seccomp filter of its role as it starts (device threads, the Swank
 * bridge) or just before the first KVM_RUN (the vCPU thread); filters are
 * per thread, so each role keeps its own short list (docs/security.md).
 * A forbidden call ends the process with one line naming the thread's
 * role and the call; with --seccomp-log it is logged by the kernel's
 * audit instead and goes through, for finding what a change needs.
 */
#ifndef LISPVM_VMM_SANDBOX_H
#define LISPVM_VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_role {
	SANDBOX_VCPU,	      /* the run loop, hypercalls, snapshots, teardown */
	SANDBOX_CONSOLE,      /* the virtio console's thread */
	SANDBOX_VSOCK,	      /* the virtio vsock device's thread */
	SANDBOX_DIRTY_LOG,    /* the dirty-page log's sampler */
	SANDBOX_CONTROL,      /* the control socket's listener */
	SANDBOX_SWANK_BRIDGE, /* --swank: the TCP listener and its relays */
	SANDBOX_NR_ROLES,
	/* A thread started by a sandboxed thread keeps its creator's filter. */
	SANDBOX_SAME_AS_CREATOR = SANDBOX_NR_ROLES,
};

/* What the vCPU thread's filter depends on in this VM. */
struct sandbox_vcpu_needs {
	/* The --mount roots: openat2 is allowed relative to these only. */
	const int *mount_root_fds;
	unsigned int nr_mounts;
	/* The VM may write a snapshot or a working set by path (lispvm
	 * prepare, --record-working-set). */
	bool writes_snapshots;
	/* It has a control socket: snapshots into the files handed over. */
	bool takes_running_snapshots;
	/* Its vsock or control socket is removed at exit. */
	bool removes_sockets;
};

/* --seccomp-log: forbidden calls are logged, not stopped.  Set before the
 * first filter is installed; it holds for the whole process. */
void sandbox_set_log_only(bool log_only);

/* Installs role's filter on the calling thread (needs: the vCPU role's,
 * NULL for the others), after no_new_privs.  0, or -1 with a one-line
 * reason in err. */
int sandbox_enter(enum sandbox_role role, const struct sandbox_vcpu_needs *needs, char *err,
		  size_t err_size);

/* The role's name, as the thread is named and the violation line says. */
const char *sandbox_role_name(enum sandbox_role role);

/* The calling thread's role name ("main" before any filter), and the one
 * to take on: a thread started by a sandboxed thread has its filter and
 * takes its name (SANDBOX_SAME_AS_CREATOR). */
const char *sandbox_thread_role(void);
void sandbox_take_thread_role(const char *name);

/* How many distinct system calls role's filter allows (the vCPU role:
 * with needs), or -1 with a reason. */
int sandbox_count_syscalls(enum sandbox_role role, const struct sandbox_vcpu_needs *needs,
			   char *err, size_t err_size);

#endif
