/* SPDX-License-Identifier: MIT */
/* Whole reads and writes at an offset, through short counts and EINTR;
 * where a file is, by its /proc/self/fd link. */
#ifndef LISPVM_VMM_FILE_IO_H
#define LISPVM_VMM_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -1 with errno (EIO when the file ends first). */
int file_pread_all(int fd, void *buf, size_t size, uint64_t off);
int file_pwrite_all(int fd, const void *buf, size_t size, uint64_t off);

/* Where fd is now, as an absolute path: /proc follows renames and says
 * when it was deleted.  0, or -1 (errno; ENAMETOOLONG past size). */
int file_fd_path(int fd, char *out, size_t size);

/* realpath(3) of an existing file, with calls the vCPU thread's seccomp
 * filter allows (an O_PATH open, then file_fd_path). */
int file_real_path(const char *path, char *out, size_t size);

#endif
