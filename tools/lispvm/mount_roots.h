/* SPDX-License-Identifier: MIT */
/*
 * A jailed warm VM's --mount directories, opened outside its jail and
 * handed in (pooled_jail.c): each as a detached copy of its mount tree
 * (open_tree OPEN_TREE_CLONE), read-only where the mount is, nosuid,
 * nodev and noexec.  A plain descriptor of a directory outside a jail
 * would let a VMM that runs code of the guest's choosing climb out of it
 * with "..", which stops at the root of a detached copy; and the kernel,
 * not only hostfs, refuses writes to a read-only one.
 *
 * The copies are made in a child that enters a user and mount namespace
 * of its own (user_namespace.h), where an unprivileged user may clone
 * mounts; it passes them back and ends.
 */
#ifndef LISPVM_MOUNT_ROOTS_H
#define LISPVM_MOUNT_ROOTS_H

#include <stddef.h>

#include "guest_params.h"

/* fds[i] is mounts[i]'s root (O_PATH; the caller closes it).  0, or -1
 * with a one-line reason in err, and no descriptor left open. */
int mount_roots_open(const struct guest_mount *mounts, unsigned int n, int *fds, char *err,
		     size_t err_size);

#endif
