/* SPDX-License-Identifier: MIT */
/* Turning the staged tree into an EROFS image with erofs-utils. */
#ifndef LISPVM_MKFS_EROFS_H
#define LISPVM_MKFS_EROFS_H

#include "image_error.h"

/* Writes the image of the tree under root_dir to image_path. */
int mkfs_erofs_run(const char *image_path, const char *root_dir, struct image_error *e);

#endif
