/* SPDX-License-Identifier: MIT */
/* What a jailed VMM may see: each host path its VM uses, made absolute,
 * and the VM's configuration rewritten to name them so, since the jail
 * shows each at the same path and its working directory is "/". */
#ifndef LISPVM_JAIL_PLAN_H
#define LISPVM_JAIL_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "guest_params.h"
#include "snapshot_chain.h"
#include "vm.h"

/* The fixed ones, the images and mounts given and those a snapshot
 * names, and a snapshot's chain of diffs. */
#define JAIL_MAX_PATHS (8 + 2 * GUEST_MAX_IMAGES + 2 * GUEST_MAX_MOUNTS + SNAPSHOT_MAX_CHAIN)

enum jail_access {
	JAIL_READ,   /* read-only in the jail */
	JAIL_WRITE,  /* read-write */
	JAIL_DEVICE, /* a device node, read-write */
};

struct jail_path {
	char path[PATH_MAX];
	bool dir;
	enum jail_access access;
};

struct jail_plan {
	struct jail_path paths[JAIL_MAX_PATHS];
	unsigned int n;
	/* config with every path absolute; its strings live below. */
	struct vm_config config;
	char kernel[PATH_MAX], vsock[PATH_MAX], control[PATH_MAX], snapshot_out[PATH_MAX],
		text_cache[PATH_MAX], snapshot_in[PATH_MAX], working_set_out[PATH_MAX],
		prefetch[PATH_MAX];
	char images[GUEST_MAX_IMAGES][PATH_MAX];
	const char *image_ptrs[GUEST_MAX_IMAGES];
	char mount_paths[GUEST_MAX_MOUNTS][PATH_MAX];
	struct guest_mount mounts[GUEST_MAX_MOUNTS];
};

/* Fills plan from config, its paths sorted (a directory before what lies
 * under it).  A VM from a snapshot also gets what the snapshot names:
 * its bases, its images and, for a running VM's, its mounts.  A warm
 * VM's (await_invocation) is its machine's alone: its program's mounts
 * come later, as descriptors (mount_roots.h).  0, or -1 with a one-line
 * reason (a path that cannot be resolved, a snapshot that cannot be
 * read). */
int jail_plan_make(const struct vm_config *config, struct jail_plan *plan, char *err,
		   size_t err_size);

#endif
