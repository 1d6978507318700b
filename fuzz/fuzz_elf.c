/* SPDX-License-Identifier: MIT */
/*
 * Both ELF loaders on the same file: the VMM's loader of the guest kernel
 * (vmm/elf_loader.c) and the guest's loader of Linux programs and ld.so
 * (guest-runtime/linux/elf_load.c, compiled with the guest's headers; see
 * fuzz_elf_guest.c).  The input is the file.
 *
 * The VMM side goes as vm.c does: the read-only text span, when the file
 * has one inside RAM, becomes a read-only region holding the file's
 * bytes; then the kernel is loaded into RAM (the boot data below 1 MiB,
 * then 256 KiB).  A span must be whole pages inside the file; a kernel
 * the loader accepts must be in memory afterwards, segment by segment,
 * as the file says (its bss zero).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <lispvm/abi.h>

#include "elf_loader.h"
#include "fuzz_elf_guest.h"
#include "fuzz_input.h"
#include "guest_memory.h"

#define RAM_SIZE (LISPVM_BOOT_DATA_END + 0x40000)

static uint8_t *ram;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A guard page after RAM: nothing may be written past it. */
	ram = mmap(NULL, RAM_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (ram == MAP_FAILED || mprotect(ram + RAM_SIZE, 4096, PROT_NONE) < 0)
		fuzz_fail("mmap");
	return 0;
}

/* RAM, with the text span (when inside it) as a read-only region of the
 * file's bytes between two writable ones. */
static void make_memory(struct guest_memory *mem, const uint8_t *file, size_t size, uint8_t **rom)
{
	struct elf_text_span span;
	uint64_t cut = RAM_SIZE, resume = RAM_SIZE;

	*mem = (struct guest_memory){0};
	*rom = NULL;
	memset(ram, 0, RAM_SIZE);
	if (elf_kernel_text_span(file, size, &span)) {
		if (span.len == 0 || span.len % LISPVM_PAGE_SIZE || span.gpa % LISPVM_PAGE_SIZE ||
		    span.file_offset > size || span.len > size - span.file_offset)
			fuzz_fail("text span not whole pages inside the file");
		if (span.gpa < RAM_SIZE && span.len <= RAM_SIZE - span.gpa) {
			*rom = malloc(span.len);
			memcpy(*rom, file + span.file_offset, span.len);
			cut = span.gpa;
			resume = span.gpa + span.len;
		}
	}
	if (cut > 0)
		guest_memory_add(mem, 0, cut, ram, true);
	if (*rom != NULL)
		guest_memory_add(mem, cut, resume - cut, *rom, false);
	if (resume < RAM_SIZE)
		guest_memory_add(mem, resume, RAM_SIZE - resume, ram + resume, true);
}

static void check_loaded(const struct guest_memory *mem, const uint8_t *file,
			 const struct elf_kernel *k)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);

	if (k->load_start >= k->load_end || k->pvh_entry < k->load_start ||
	    k->pvh_entry >= k->load_end)
		fuzz_fail("kernel extent or entry");
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const uint8_t *at;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		at = guest_memory_access(mem, ph[i].p_paddr, ph[i].p_memsz, GUEST_READ);
		if (at == NULL || memcmp(at, file + ph[i].p_offset, ph[i].p_filesz) != 0)
			fuzz_fail("a segment is not in memory as the file has it");
		for (uint64_t b = ph[i].p_filesz; b < ph[i].p_memsz; b++)
			if (at[b] != 0)
				fuzz_fail("bss not zero");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	struct elf_kernel kernel;
	char err[256];
	uint8_t *rom;

	make_memory(&mem, data, size, &rom);
	if (elf_load_kernel(data, size, &mem, &kernel, err, sizeof(err)) == 0)
		check_loaded(&mem, data, &kernel);
	free(rom);
	fuzz_guest_elf(data, size, 0x555555554000ull);
	return 0;
}
