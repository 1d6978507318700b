/* SPDX-License-Identifier: MIT */
/* The jail's cgroup: memory, pids and CPU limits for the keeper and the
 * VMM, on cgroup v2 (/sys/fs/cgroup) or, where the controllers are still
 * on v1 hierarchies, on those (/sys/fs/cgroup/{memory,pids,cpu}). */
#ifndef LISPVM_JAIL_CGROUP_H
#define LISPVM_JAIL_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_CGROUP_MAX_DIRS 3

struct jail_limits {
	uint64_t memory_max; /* bytes */
	unsigned int pids_max;
	uint64_t cpu_quota_us; /* per cpu_period_us; 0: no CPU limit */
	uint64_t cpu_period_us;
};

struct jail_cgroup {
	int version; /* 1 or 2; 0: none made */
	char dirs[JAIL_CGROUP_MAX_DIRS][PATH_MAX];
	unsigned int n;
};

/* Makes lispvm/NAME with limits.  0, or -1 with a one-line reason (no
 * cgroup v2 with the controllers, nor v1 hierarchies of them). */
int jail_cgroup_make(struct jail_cgroup *cg, const char *name, const struct jail_limits *limits,
		     char *err, size_t err_size);

/* Moves pid (and so its children to come) into it.  0, or -1. */
int jail_cgroup_add(const struct jail_cgroup *cg, pid_t pid, char *err, size_t err_size);

/* Removes it; its processes have ended. */
void jail_cgroup_remove(struct jail_cgroup *cg);

#endif
