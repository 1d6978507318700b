/* SPDX-License-Identifier: MIT */
/* The guest's boot-time parse (guest-runtime/kernel/boot_info.c), as the
 * fdt fuzzer calls it from the host side. */
#ifndef LISPVM_FUZZ_FDT_BOOT_INFO_H
#define LISPVM_FUZZ_FDT_BOOT_INFO_H

#include <stdint.h>

#include "kernel/boot_info.h"

/* boot_info_parse() on PVH start info whose module 0 is the device tree
 * fdt[0..size) and whose command line is cmdline: 0, or -1 when the guest
 * panicked (refused it). */
int fuzz_boot_info(const void *fdt, uint64_t size, const char *cmdline, struct boot_info *bi);

#endif
