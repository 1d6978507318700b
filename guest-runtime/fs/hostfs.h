/* SPDX-License-Identifier: MIT */
/*
 * Host directories (--mount HOST:GUEST[:ro|rw]): each file operation is a
 * LISPVM_HC_HOSTFS request that the VMM performs with openat2 beneath the
 * mount's root.  The guest resolves paths itself, one LSTAT per
 * component, and follows symlinks in its own namespace, so it only ever
 * sends plain, symlink-free relative paths (include/lispvm/abi.h).
 */
#ifndef GUEST_FS_HOSTFS_H
#define GUEST_FS_HOSTFS_H

#include "fs/vnode.h"
#include "kernel/boot_info.h"

int hostfs_init(const struct boot_info *bi);

/* Whether n is on a host directory. */
bool hostfs_owns(const struct vnode *n);

/* The root directory of mount i. */
void hostfs_root(unsigned int i, struct vnode *out);

#endif
