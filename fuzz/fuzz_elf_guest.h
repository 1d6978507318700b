/* SPDX-License-Identifier: MIT */
/* The guest's ELF loader (guest-runtime/linux/elf_load.c), as the elf
 * fuzzer calls it from the host side. */
#ifndef LISPVM_FUZZ_ELF_GUEST_H
#define LISPVM_FUZZ_ELF_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* Reads the headers of the executable or shared object file[0..size) and
 * maps it into a model address space, as exec does for a program (at
 * base, for ET_DYN) and its interpreter (base 0); aborts if the loader
 * maps or writes outside the extent it reserved. */
void fuzz_guest_elf(const uint8_t *file, size_t size, uint64_t base);

#endif
