/* SPDX-License-Identifier: MIT */
/*
 * /dev: the character devices programs expect (null, zero, full, random,
 * urandom; tty, which has no controlling terminal here: ENXIO) and the
 * stdin/stdout/stderr/fd links into /proc/self/fd; lispvm-snapshot, the
 * snapshot point of `lispvm prepare` (linux/snapshot_point.h).
 */
#ifndef GUEST_FS_DEVFS_H
#define GUEST_FS_DEVFS_H

#include "fs/vnode.h"

void devfs_root(struct vnode *out);

#endif
