/* SPDX-License-Identifier: MIT */
#include "linux/elf_load.h"

#include <errno.h>
#include <linux/mman.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "fs/file.h"
#include "linux/mm.h"
#include "linux/uaccess.h"

#define PAGE_DOWN(x) ((x) & ~(uint64_t)(PAGE_SIZE - 1))
#define PAGE_UP(x)   PAGE_DOWN((x) + PAGE_SIZE - 1)

static int read_exact(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	int64_t n = file_read_kernel(f, buf, len, off);

	if (n < 0)
		return (int)n;
	return (uint64_t)n == len ? 0 : -ENOEXEC;
}

static int check_ehdr(const Elf64_Ehdr *e)
{
	if (memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 || e->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->e_ident[EI_DATA] != ELFDATA2LSB || e->e_ident[EI_VERSION] != EV_CURRENT ||
	    e->e_machine != EM_X86_64 || (e->e_type != ET_EXEC && e->e_type != ET_DYN) ||
	    e->e_phentsize != sizeof(Elf64_Phdr) || e->e_phnum == 0 || e->e_phnum > ELF_MAX_PHDRS)
		return -ENOEXEC;
	return 0;
}

static int read_interp(struct file *f, const Elf64_Phdr *ph, char *out)
{
	if (ph->p_filesz < 2 || ph->p_filesz > PATH_MAX)
		return -ENOEXEC;
	if (read_exact(f, out, ph->p_filesz, ph->p_offset) < 0)
		return -ENOEXEC;
	if (out[ph->p_filesz - 1] != '\0' || strlen(out) != ph->p_filesz - 1)
		return -ENOEXEC;
	return 0;
}

int elf_read_headers(struct file *f, struct elf_image *img)
{
	int rc;

	memset(img, 0, sizeof(*img));
	rc = read_exact(f, &img->ehdr, sizeof(img->ehdr), 0);
	if (rc < 0 || (rc = check_ehdr(&img->ehdr)) < 0)
		return rc == -EIO ? rc : -ENOEXEC;
	rc = read_exact(f, img->phdrs, img->ehdr.e_phnum * sizeof(Elf64_Phdr), img->ehdr.e_phoff);
	if (rc < 0)
		return -ENOEXEC;
	for (unsigned int i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];

		if (ph->p_type == PT_LOAD &&
		    (ph->p_filesz > ph->p_memsz || ph->p_vaddr > USER_SPACE_END ||
		     ph->p_memsz > USER_SPACE_END - ph->p_vaddr ||
		     (ph->p_offset & (PAGE_SIZE - 1)) != (ph->p_vaddr & (PAGE_SIZE - 1))))
			return -ENOEXEC;
		if (ph->p_type == PT_INTERP && (rc = read_interp(f, ph, img->interp)) < 0)
			return rc;
	}
	return 0;
}

static uint32_t segment_prot(uint32_t flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
	       ((flags & PF_X) ? PROT_EXEC : 0);
}

/* [lowest page, end) of all PT_LOAD segments, in link addresses. */
static int load_extent(const struct elf_image *img, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned int i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (PAGE_DOWN(ph->p_vaddr) < *lo)
			*lo = PAGE_DOWN(ph->p_vaddr);
		if (PAGE_UP(ph->p_vaddr + ph->p_memsz) > *hi)
			*hi = PAGE_UP(ph->p_vaddr + ph->p_memsz);
	}
	return *hi > *lo ? 0 : -ENOEXEC;
}

static const uint8_t zero_page[PAGE_SIZE];

static int map_segment(struct mm *mm, struct file *f, const Elf64_Phdr *ph, uint64_t bias)
{
	uint64_t start = PAGE_DOWN(ph->p_vaddr) + bias;
	uint64_t file_end = ph->p_vaddr + ph->p_filesz + bias;
	uint64_t mem_end = PAGE_UP(ph->p_vaddr + ph->p_memsz) + bias;
	uint32_t prot = segment_prot(ph->p_flags);
	struct mm_backing anon = {.kind = VMA_ANON}, backing;
	int64_t rc;

	if (ph->p_filesz > 0) {
		rc = f->ops->mmap ? f->ops->mmap(f, PAGE_DOWN(ph->p_offset), &backing) : -ENODEV;
		if (rc < 0)
			return (int)rc;
		backing.offset = PAGE_DOWN(ph->p_offset);
		/* Only the segment's own bytes come from the file. */
		backing.file_bytes = file_end - start;
		rc = mm_map(mm, start, PAGE_UP(file_end) - start, prot, MAP_PRIVATE | MAP_FIXED,
			    &backing);
		if (rc < 0)
			return (int)rc;
		/* The rest of the last file page is .bss: zero it (this copies
		 * the page, as Linux's loader does). */
		if ((file_end & (PAGE_SIZE - 1)) && ph->p_memsz > ph->p_filesz &&
		    (prot & PROT_WRITE))
			if (copy_to_user(file_end, zero_page, PAGE_UP(file_end) - file_end) < 0)
				return -EFAULT;
		start = PAGE_UP(file_end);
	}
	if (mem_end > start) {
		rc = mm_map(mm, start, mem_end - start, prot, MAP_PRIVATE | MAP_FIXED, &anon);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

/* AT_PHDR: PT_PHDR if present, else the headers inside the first page of
 * the segment that maps file offset 0. */
static uint64_t phdr_address(const struct elf_image *img)
{
	for (unsigned int i = 0; i < img->ehdr.e_phnum; i++)
		if (img->phdrs[i].p_type == PT_PHDR)
			return img->phdrs[i].p_vaddr + img->bias;
	for (unsigned int i = 0; i < img->ehdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];

		if (ph->p_type == PT_LOAD && ph->p_offset <= img->ehdr.e_phoff &&
		    img->ehdr.e_phoff < ph->p_offset + ph->p_filesz)
			return ph->p_vaddr + (img->ehdr.e_phoff - ph->p_offset) + img->bias;
	}
	return 0;
}

int elf_map(struct mm *mm, struct file *f, struct elf_image *img, uint64_t base)
{
	struct mm_backing anon = {.kind = VMA_ANON};
	uint64_t lo, hi;
	int64_t where;
	int rc = load_extent(img, &lo, &hi);

	if (rc < 0)
		return rc;
	if (img->ehdr.e_type == ET_DYN) {
		/* Reserve the whole extent to find room, then map over it;
		 * the holes between segments end up unmapped, as on Linux. */
		where = mm_map(mm, base, hi - lo, PROT_NONE,
			       MAP_PRIVATE | (base ? MAP_FIXED_NOREPLACE : 0), &anon);
		if (where < 0)
			return (int)where;
		mm_unmap(mm, (uint64_t)where, hi - lo);
		img->bias = (uint64_t)where - lo;
	}
	for (unsigned int i = 0; i < img->ehdr.e_phnum; i++) {
		if (img->phdrs[i].p_type != PT_LOAD || img->phdrs[i].p_memsz == 0)
			continue;
		rc = map_segment(mm, f, &img->phdrs[i], img->bias);
		if (rc < 0)
			return rc;
	}
	img->entry = img->ehdr.e_entry + img->bias;
	img->phdr_addr = phdr_address(img);
	img->end = hi + img->bias;
	return 0;
}
