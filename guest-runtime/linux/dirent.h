/* SPDX-License-Identifier: MIT */
/* getdents64's record (Linux has it in linux/dirent.h, not exported). */
#ifndef GUEST_LINUX_DIRENT_H
#define GUEST_LINUX_DIRENT_H

#include <stddef.h>
#include <stdint.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

#endif
