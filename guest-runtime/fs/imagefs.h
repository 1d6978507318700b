/* SPDX-License-Identifier: MIT */
/*
 * The read-only root: the union of the EROFS images the VMM mapped, first
 * image first.  A name resolves in the first image that has it; a
 * directory present in several images lists the entries of all of them.
 * Files are served straight from the mapped image: no exits, and mmap
 * maps the image pages themselves.
 */
#ifndef GUEST_FS_IMAGEFS_H
#define GUEST_FS_IMAGEFS_H

#include "fs/vnode.h"
#include "kernel/boot_info.h"

/* Mounts the images; -EUCLEAN (after naming the image) if one is corrupt. */
int imagefs_init(const struct boot_info *bi);

/* The root directory of the union. */
void imagefs_root(struct vnode *out);

#endif
