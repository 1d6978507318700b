/* SPDX-License-Identifier: MIT */
/* Whole reads and writes at an offset, through short counts and EINTR. */
#ifndef LISPVM_VMM_FILE_IO_H
#define LISPVM_VMM_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -1 with errno (EIO when the file ends first). */
int file_pread_all(int fd, void *buf, size_t size, uint64_t off);
int file_pwrite_all(int fd, const void *buf, size_t size, uint64_t off);

#endif
