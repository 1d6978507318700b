/* SPDX-License-Identifier: MIT */
/*
 * tmpfs: files, directories and symlinks in guest RAM, for /tmp and
 * $HOME.  File data lives in whole pages from pmem, allocated as written
 * (holes read as zeros); an inode lives while it has a name or an open
 * file.
 */
#ifndef GUEST_FS_TMPFS_H
#define GUEST_FS_TMPFS_H

#include "fs/vnode.h"

/* A new, empty tmpfs instance; its root directory in *root. */
int tmpfs_new(struct vnode *root);

#endif
