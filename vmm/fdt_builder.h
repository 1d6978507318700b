/* SPDX-License-Identifier: MIT */
/* The flattened device tree the VMM hands to the guest (layout: abi.h). */
#ifndef LISPVM_VMM_FDT_BUILDER_H
#define LISPVM_VMM_FDT_BUILDER_H

#include <stddef.h>

#include "guest_params.h"
#include "memory_layout.h"

/* Builds the tree into buf[0..size).  Returns 0, or -1 with a libfdt
 * reason in err. */
int fdt_build(void *buf, size_t size, const struct memory_layout *layout, const char *bootargs,
	      const struct guest_params *params, char *err, size_t err_size);

#endif
