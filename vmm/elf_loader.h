/* SPDX-License-Identifier: MIT */
/* Loads a PVH-bootable ELF64 guest kernel into guest memory. */
#ifndef LISPVM_VMM_ELF_LOADER_H
#define LISPVM_VMM_ELF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_memory.h"

struct elf_kernel {
	uint64_t pvh_entry;   /* guest-physical, from XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t load_start;  /* lowest guest-physical byte loaded */
	uint64_t load_end;    /* one past the highest */
	uint32_t abi_version; /* from the lispvm note; 0 when absent */
};

/* The kernel's read-only code and data that can be mapped from the file
 * itself instead of copied: consecutive non-writable PT_LOAD segments with
 * no bss, page-aligned in the file and in guest-physical memory at one
 * distance, sharing no page with a writable segment.  [gpa, gpa + len) is
 * then the bytes at file_offset, len whole pages inside the file. */
struct elf_text_span {
	uint64_t file_offset, gpa, len;
};

/* Fills *span and returns true when the file has such a span (the file
 * need not be valid otherwise: elf_load_kernel judges that). */
bool elf_kernel_text_span(const void *file, size_t size, struct elf_text_span *span);

/* Validates the ELF in file[0..size) and copies its PT_LOAD segments to their
 * physical addresses (p_paddr) through the checked accessor, zero-filling
 * p_memsz beyond p_filesz.  A read-only segment may instead already be in
 * a read-only region with the same bytes (the text span, mapped from the
 * file).  Returns 0, or -1 with a one-line reason in err.
 * Nothing is written to guest memory unless the whole file validates. */
int elf_load_kernel(const void *file, size_t size, const struct guest_memory *mem,
		    struct elf_kernel *out, char *err, size_t err_size);

#endif
