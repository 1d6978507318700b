/* SPDX-License-Identifier: MIT */
/*
 * Reading the guest's own x86-64 page tables (4 levels, 4 KiB, 2 MiB and
 * 1 GiB pages), so the VMM can copy between guest-virtual ranges for
 * LISPVM_HC_COPY_VIRTUAL.  Every table entry is read through the checked
 * accessor; a guest that points its tables anywhere gets no more than a
 * failed translation.
 */
#ifndef LISPVM_VMM_GUEST_PAGEWALK_H
#define LISPVM_VMM_GUEST_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_memory.h"

/* The guest-physical address of va in the tables rooted at pml4, when a
 * CPU access with these rights would succeed without a fault: present at
 * every level, writable at every level for `write`, user at every level
 * for `user`.  *left is how many bytes from va to the end of its page.
 * 0, or -1 when it would fault (or va is not canonical). */
int guest_translate(const struct guest_memory *mem, uint64_t pml4, uint64_t va, bool write,
		    bool user, uint64_t *gpa, uint64_t *left);

#endif
