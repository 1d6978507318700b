/* SPDX-License-Identifier: MIT */
/* Copying a file's bytes into the staging tree. */
#ifndef LISPVM_FILE_COPY_H
#define LISPVM_FILE_COPY_H

/* Copies everything from src_fd's offset to its end to dst_fd. Returns 0,
 * or an errno value. */
int file_copy_data(int src_fd, int dst_fd);

#endif
