/* SPDX-License-Identifier: MIT */
/* Linux errno values.  The guest keeps no errno variable: kernel functions
 * return -EXXX as Linux system calls do. */
#ifndef GUEST_LIBC_ERRNO_H
#define GUEST_LIBC_ERRNO_H

#include <asm-generic/errno.h>

#endif
