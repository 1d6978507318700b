/* SPDX-License-Identifier: MIT */
#include "elf_loader.h"

#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <xen/elfnote.h>

#include <lispvm/abi.h>

#define ELF_MAX_PHDRS 64

struct elf_file {
	const uint8_t *bytes;
	size_t size;
	const Elf64_Ehdr *ehdr;
	const Elf64_Phdr *phdrs;
	char *err;
	size_t err_size;
};

static int fail(struct elf_file *elf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(elf->err, elf->err_size, fmt, ap);
	va_end(ap);
	return -1;
}

/* True when [offset, offset + len) lies inside the file. */
static bool in_file(const struct elf_file *elf, uint64_t offset, uint64_t len)
{
	return offset <= elf->size && len <= elf->size - offset;
}

static int check_header(struct elf_file *elf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf->bytes;

	if (elf->size < sizeof(*eh))
		return fail(elf, "truncated ELF header (%zu bytes)", elf->size);
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return fail(elf, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(elf, "not a little-endian ELF64 file");
	if (eh->e_machine != EM_X86_64)
		return fail(elf, "wrong machine %u (want x86-64, %u)", eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return fail(elf, "ELF type %u is not an executable", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(elf, "unexpected program header size %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		return fail(elf, "bad program header count %u", eh->e_phnum);
	if (eh->e_phoff % _Alignof(Elf64_Phdr) != 0 ||
	    !in_file(elf, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return fail(elf, "program headers lie outside the file");
	elf->ehdr = eh;
	elf->phdrs = (const Elf64_Phdr *)(elf->bytes + eh->e_phoff);
	return 0;
}

/* A read-only segment the VMM mapped from this very file (the text span):
 * present, read-only, byte for byte. */
static bool already_mapped(const struct elf_file *elf, const Elf64_Phdr *ph,
			   const struct guest_memory *mem)
{
	const uint8_t *there;

	if ((ph->p_flags & PF_W) || ph->p_filesz != ph->p_memsz)
		return false;
	there = guest_memory_access(mem, ph->p_paddr, ph->p_memsz, GUEST_READ);
	return there != NULL && memcmp(there, elf->bytes + ph->p_offset, ph->p_filesz) == 0;
}

static int check_load_segment(struct elf_file *elf, unsigned int i, const struct guest_memory *mem)
{
	const Elf64_Phdr *ph = &elf->phdrs[i];
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz)
		return fail(elf, "segment %u: file size exceeds memory size", i);
	if (!in_file(elf, ph->p_offset, ph->p_filesz))
		return fail(elf, "segment %u: data lies outside the file (truncated?)", i);
	if (ph->p_memsz == 0)
		return 0;
	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end))
		return fail(elf, "segment %u: address range wraps around", i);
	if (ph->p_paddr < LISPVM_BOOT_DATA_END)
		return fail(elf, "segment %u: loads at 0x%llx, inside the boot data below 0x%llx",
			    i, (unsigned long long)ph->p_paddr, LISPVM_BOOT_DATA_END);
	if (guest_memory_access(mem, ph->p_paddr, ph->p_memsz, GUEST_WRITE) == NULL &&
	    !already_mapped(elf, ph, mem))
		return fail(elf, "segment %u: [0x%llx, 0x%llx) is outside guest RAM", i,
			    (unsigned long long)ph->p_paddr, (unsigned long long)end);
	for (unsigned int j = 0; j < i; j++) {
		const Elf64_Phdr *other = &elf->phdrs[j];

		if (other->p_type != PT_LOAD || other->p_memsz == 0)
			continue;
		if (ph->p_paddr < other->p_paddr + other->p_memsz && other->p_paddr < end)
			return fail(elf, "segment %u overlaps segment %u", i, j);
	}
	return 0;
}

static uint64_t note_align(uint64_t n)
{
	return (n + 3) & ~(uint64_t)3;
}

static bool note_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	return namesz == strlen(want) + 1 && memcmp(name, want, namesz) == 0;
}

static void read_note(const uint8_t *name, uint32_t namesz, uint32_t type, const uint8_t *desc,
		      uint32_t descsz, struct elf_kernel *out)
{
	uint32_t v32;

	if (note_is(name, namesz, "Xen") && type == XEN_ELFNOTE_PHYS32_ENTRY &&
	    descsz >= sizeof(v32)) {
		memcpy(&v32, desc, sizeof(v32));
		out->pvh_entry = v32;
	} else if (note_is(name, namesz, LISPVM_ELFNOTE_NAME) &&
		   type == LISPVM_ELFNOTE_ABI_VERSION && descsz == sizeof(v32)) {
		memcpy(&out->abi_version, desc, sizeof(v32));
	}
}

static int scan_notes(struct elf_file *elf, const Elf64_Phdr *ph, struct elf_kernel *out)
{
	uint64_t pos = 0;

	if (!in_file(elf, ph->p_offset, ph->p_filesz))
		return fail(elf, "note segment lies outside the file");
	while (ph->p_filesz - pos >= sizeof(Elf64_Nhdr)) {
		const uint8_t *at = elf->bytes + ph->p_offset + pos;
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;

		memcpy(&nh, at, sizeof(nh));
		name_len = note_align(nh.n_namesz);
		desc_len = note_align(nh.n_descsz);
		if (name_len + desc_len > ph->p_filesz - pos - sizeof(nh))
			return fail(elf, "truncated ELF note");
		read_note(at + sizeof(nh), nh.n_namesz, nh.n_type, at + sizeof(nh) + name_len,
			  nh.n_descsz, out);
		pos += sizeof(nh) + name_len + desc_len;
	}
	return 0;
}

static int validate(struct elf_file *elf, const struct guest_memory *mem, struct elf_kernel *out)
{
	bool have_load = false;

	*out = (struct elf_kernel){.load_start = UINT64_MAX};
	if (check_header(elf) < 0)
		return -1;
	for (unsigned int i = 0; i < elf->ehdr->e_phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];

		if (ph->p_type == PT_NOTE && scan_notes(elf, ph, out) < 0)
			return -1;
		if (ph->p_type != PT_LOAD)
			continue;
		if (check_load_segment(elf, i, mem) < 0)
			return -1;
		if (ph->p_memsz == 0)
			continue;
		have_load = true;
		if (ph->p_paddr < out->load_start)
			out->load_start = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > out->load_end)
			out->load_end = ph->p_paddr + ph->p_memsz;
	}
	if (!have_load)
		return fail(elf, "no loadable segment");
	if (out->pvh_entry == 0)
		return fail(elf, "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel");
	if (out->pvh_entry < out->load_start || out->pvh_entry >= out->load_end)
		return fail(elf, "PVH entry 0x%llx is outside the loaded segments",
			    (unsigned long long)out->pvh_entry);
	return 0;
}

/* Guest RAM is fresh anonymous memory, so the bss is zero already: writing
 * zeros would only make the host back ~350 KiB of pages per VM.  Clear
 * only what is not zero (reading untouched memory allocates nothing). */
static void clear_unless_zero(uint8_t *p, size_t n)
{
	static const uint8_t zeros[4096];

	while (n > 0) {
		size_t chunk = n < sizeof(zeros) ? n : sizeof(zeros);

		if (memcmp(p, zeros, chunk) != 0)
			memset(p, 0, chunk);
		p += chunk;
		n -= chunk;
	}
}

static void copy_segments(const struct elf_file *elf, const struct guest_memory *mem)
{
	for (unsigned int i = 0; i < elf->ehdr->e_phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		uint8_t *dst;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		/* validate() already checked this range; asking again keeps
		 * every guest write behind the one accessor. */
		dst = guest_memory_access(mem, ph->p_paddr, ph->p_memsz, GUEST_WRITE);
		if (dst == NULL)
			continue; /* already_mapped() */
		memcpy(dst, elf->bytes + ph->p_offset, ph->p_filesz);
		clear_unless_zero(dst + ph->p_filesz, ph->p_memsz - ph->p_filesz);
	}
}

int elf_load_kernel(const void *file, size_t size, const struct guest_memory *mem,
		    struct elf_kernel *out, char *err, size_t err_size)
{
	struct elf_file elf = {
		.bytes = file,
		.size = size,
		.err = err,
		.err_size = err_size,
	};

	if (validate(&elf, mem, out) < 0)
		return -1;
	copy_segments(&elf, mem);
	return 0;
}

static bool page_aligned(uint64_t v)
{
	return v % LISPVM_PAGE_SIZE == 0;
}

static uint64_t page_round_up(uint64_t v)
{
	return (v + LISPVM_PAGE_SIZE - 1) & ~(uint64_t)(LISPVM_PAGE_SIZE - 1);
}

static bool overlaps_writable(const Elf64_Phdr *phdrs, unsigned int n, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < n; i++)
		if (phdrs[i].p_type == PT_LOAD && (phdrs[i].p_flags & PF_W) &&
		    phdrs[i].p_paddr < gpa + len && gpa < phdrs[i].p_paddr + phdrs[i].p_memsz)
			return true;
	return false;
}

static bool text_segment(const Elf64_Phdr *ph)
{
	return ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) && ph->p_memsz != 0 &&
	       ph->p_filesz == ph->p_memsz && page_aligned(ph->p_paddr) &&
	       page_aligned(ph->p_offset) && ph->p_paddr < UINT64_MAX / 2 &&
	       ph->p_memsz < UINT64_MAX / 4;
}

/* The run of text segments starting at phdrs[i], as long as each one
 * continues the last in memory and in the file. */
static struct elf_text_span text_run(const Elf64_Phdr *phdrs, unsigned int n, unsigned int i)
{
	struct elf_text_span run = {.file_offset = phdrs[i].p_offset, .gpa = phdrs[i].p_paddr};
	uint64_t end = page_round_up(phdrs[i].p_paddr + phdrs[i].p_memsz);

	for (unsigned int j = i + 1;
	     j < n && text_segment(&phdrs[j]) && phdrs[j].p_paddr == end &&
	     phdrs[j].p_paddr - phdrs[j].p_offset == run.gpa - run.file_offset;
	     j++)
		end = page_round_up(phdrs[j].p_paddr + phdrs[j].p_memsz);
	run.len = end - run.gpa;
	return run;
}

/* The longest run that the file holds whole and no writable segment
 * shares a page with. */
bool elf_kernel_text_span(const void *file, size_t size, struct elf_text_span *span)
{
	char why[128];
	struct elf_file elf = {.bytes = file, .size = size, .err = why, .err_size = sizeof(why)};
	bool found = false;

	if (check_header(&elf) < 0)
		return false;
	for (unsigned int i = 0; i < elf.ehdr->e_phnum; i++) {
		struct elf_text_span run;

		if (!text_segment(&elf.phdrs[i]))
			continue;
		run = text_run(elf.phdrs, elf.ehdr->e_phnum, i);
		if ((!found || run.len > span->len) && in_file(&elf, run.file_offset, run.len) &&
		    !overlaps_writable(elf.phdrs, elf.ehdr->e_phnum, run.gpa, run.len)) {
			*span = run;
			found = true;
		}
	}
	return found;
}
