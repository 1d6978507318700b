/* SPDX-License-Identifier: MIT */
/* Calling the lispvm VMM (protocol: include/lispvm/abi.h). */
#ifndef GUEST_KERNEL_HYPERCALL_H
#define GUEST_KERNEL_HYPERCALL_H

#include <stdint.h>

int64_t hypercall(uint32_t nr, uint64_t a0, uint64_t a1);
int64_t hypercall3(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
int64_t hypercall5(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

#endif
