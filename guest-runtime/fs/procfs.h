/* SPDX-License-Identifier: MIT */
/*
 * A minimal /proc for the one process: self (a link to its pid), and in
 * /proc/PID exe, cwd, fd/N, maps, status, cmdline; /proc/meminfo and
 * /proc/cpuinfo.  Text files are generated when opened.
 */
#ifndef GUEST_FS_PROCFS_H
#define GUEST_FS_PROCFS_H

#include "fs/vnode.h"

void procfs_root(struct vnode *out);

#endif
