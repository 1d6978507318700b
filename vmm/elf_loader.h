/* SPDX-License-Identifier: MIT */
/* Loads a PVH-bootable ELF64 guest kernel into guest memory. */
#ifndef LISPVM_VMM_ELF_LOADER_H
#define LISPVM_VMM_ELF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "guest_memory.h"

struct elf_kernel {
	uint64_t pvh_entry;   /* guest-physical, from XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t load_start;  /* lowest guest-physical byte loaded */
	uint64_t load_end;    /* one past the highest */
	uint32_t abi_version; /* from the lispvm note; 0 when absent */
};

/* Validates the ELF in file[0..size) and copies its PT_LOAD segments to their
 * physical addresses (p_paddr) through the checked accessor, zero-filling
 * p_memsz beyond p_filesz.  Returns 0, or -1 with a one-line reason in err.
 * Nothing is written to guest memory unless the whole file validates. */
int elf_load_kernel(const void *file, size_t size, const struct guest_memory *mem,
		    struct elf_kernel *out, char *err, size_t err_size);

#endif
