/* SPDX-License-Identifier: MIT */
/* Offsets into struct percpu that assembly uses through %gs
 * (checked against the struct in percpu.h). */
#ifndef GUEST_KERNEL_PERCPU_OFFSETS_H
#define GUEST_KERNEL_PERCPU_OFFSETS_H

#define PERCPU_KERNEL_RSP 0x10
#define PERCPU_USER_RSP	  0x18

#endif
