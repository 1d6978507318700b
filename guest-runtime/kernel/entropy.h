/* SPDX-License-Identifier: MIT */
/* Random bytes for AT_RANDOM and getrandom(2). */
#ifndef GUEST_KERNEL_ENTROPY_H
#define GUEST_KERNEL_ENTROPY_H

#include <stddef.h>

/* Under lispvm: the host's getrandom(2).  Under a plain PVH loader:
 * RDRAND, or a TSC-seeded generator that is NOT cryptographic (QEMU tests
 * only).  Returns 0 or -errno. */
int entropy_fill(void *buf, size_t len);

#endif
