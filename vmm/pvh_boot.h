/* SPDX-License-Identifier: MIT */
/* PVH boot data: hvm_start_info, its memory map, the command line and the
 * device tree (as PVH module 0), written into guest memory. */
#ifndef LISPVM_VMM_PVH_BOOT_H
#define LISPVM_VMM_PVH_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "guest_memory.h"
#include "guest_params.h"
#include "memory_layout.h"

/* Writes all boot data and returns the guest-physical address of the
 * hvm_start_info (what the vCPU gets in %ebx) in *start_info_gpa.
 * Returns 0, or -1 with a one-line reason in err. */
int pvh_boot_write(const struct guest_memory *mem, const struct memory_layout *layout,
		   const char *cmdline, const struct guest_params *params, uint64_t *start_info_gpa,
		   char *err, size_t err_size);

#endif
