/* SPDX-License-Identifier: MIT */
/* Reading and writing a program's memory from the kernel: every user
 * pointer a system call receives goes through here, so a bad one is
 * -EFAULT and never a kernel fault. */
#ifndef GUEST_LINUX_UACCESS_H
#define GUEST_LINUX_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"

/* Bytes not copied (0 on success); faults are resolved or cut short. */
uint64_t uaccess_copy(void *dst, const void *src, uint64_t n);

/* True if [addr, addr + len) lies within the lower half. */
static inline bool user_range_ok(uint64_t addr, uint64_t len)
{
	return addr <= USER_SPACE_END && len <= USER_SPACE_END - addr;
}

/* 0 or -EFAULT. */
int copy_from_user(void *dst, uint64_t user_src, uint64_t n);
int copy_to_user(uint64_t user_dst, const void *src, uint64_t n);

/* Copies a NUL-terminated string of at most size - 1 bytes.  Returns its
 * length, -EFAULT, or -ENAMETOOLONG when no NUL came within size bytes. */
int64_t strncpy_from_user(char *dst, uint64_t user_src, uint64_t size);

/* Where a kernel-mode fault at rip should resume, or 0 if it is a bug. */
uint64_t uaccess_fixup_for(uint64_t rip);

/* A path argument copied in from user memory (PATH_MAX bytes from the
 * kernel heap, which the caller kfrees): 0, -EFAULT, -ENAMETOOLONG or
 * -ENOMEM. */
int user_path_get(uint64_t user, char **out);

#endif
