/* SPDX-License-Identifier: MIT */
/* Mapping an ELF executable or shared object into the address space. */
#ifndef GUEST_LINUX_ELF_LOAD_H
#define GUEST_LINUX_ELF_LOAD_H

#include <linux/elf.h>
#include <linux/limits.h>
#include <stdint.h>

struct file;
struct mm;

#define ELF_MAX_PHDRS 64

struct elf_image {
	Elf64_Ehdr ehdr;
	Elf64_Phdr phdrs[ELF_MAX_PHDRS];
	uint64_t bias;	       /* load address minus link address */
	uint64_t entry;	       /* after relocation */
	uint64_t phdr_addr;    /* where the program headers are in memory (AT_PHDR) */
	uint64_t end;	       /* highest mapped address (brk starts above) */
	char interp[PATH_MAX]; /* PT_INTERP, or "" */
};

/* Reads and checks the headers.  -ENOEXEC for anything that is not an
 * x86-64 ELF executable or shared object. */
int elf_read_headers(struct file *f, struct elf_image *out);

/* Maps the PT_LOAD segments; an ET_DYN image goes at base (0: wherever
 * mmap finds room). */
int elf_map(struct mm *mm, struct file *f, struct elf_image *img, uint64_t base);

#endif
