/* SPDX-License-Identifier: MIT */
/*
 * Compiled with the guest's headers, as elf_load.c is.  The file is the
 * input; the address space is a model that answers mm_map() as the
 * guest's would (page-aligned fixed mappings below USER_SPACE_END, a
 * found place otherwise, -EEXIST for a taken MAP_FIXED_NOREPLACE) and
 * records every mapping, so the harness can check that the loader stays
 * inside the extent it reserved and writes (the bss tail) only into what
 * it mapped writable.
 */
#include "fuzz_elf_guest.h"

#include <errno.h>
#include <linux/mman.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "fs/file.h"
#include "fuzz_input.h"
#include "linux/elf_load.h"
#include "linux/mm.h"
#include "linux/uaccess.h"

#define MAX_MAPS  (2 * ELF_MAX_PHDRS + 4)
#define FIND_BASE 0x7f0000000000ull /* where a mapping without a place goes */

static struct {
	const uint8_t *data;
	size_t size;
	struct {
		uint64_t start, len;
		uint32_t prot;
	} maps[MAX_MAPS];
	unsigned int nr_maps;
} model;

int64_t file_read_kernel(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	(void)f;
	if (off >= model.size)
		return 0;
	if (len > model.size - off)
		len = model.size - off;
	memcpy(buf, model.data + off, len);
	return (int64_t)len;
}

static int file_mmap(struct file *f, uint64_t off, struct mm_backing *out)
{
	*out = (struct mm_backing){.kind = VMA_FILE, .file = f, .offset = off};
	return 0;
}

int64_t mm_map(struct mm *mm, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
	       const struct mm_backing *backing)
{
	uint64_t end;

	(void)mm;
	(void)backing;
	if (len == 0)
		return -EINVAL;
	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
		len = (len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		if (len > FIND_BASE)
			return -ENOMEM;
		addr = FIND_BASE - len;
	}
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (addr > USER_SPACE_END || len > USER_SPACE_END - addr)
		return -ENOMEM;
	end = addr + len;
	for (unsigned int i = 0; i < model.nr_maps && (flags & MAP_FIXED_NOREPLACE); i++)
		if (addr < model.maps[i].start + model.maps[i].len && model.maps[i].start < end)
			return -EEXIST;
	if (model.nr_maps == MAX_MAPS)
		fuzz_fail("elf_map: more mappings than segments");
	model.maps[model.nr_maps].start = addr;
	model.maps[model.nr_maps].len = len;
	model.maps[model.nr_maps++].prot = prot;
	return (int64_t)addr;
}

int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	(void)mm;
	for (unsigned int i = 0; i < model.nr_maps; i++)
		if (model.maps[i].start == addr && model.maps[i].len == len)
			model.maps[i] = model.maps[--model.nr_maps];
	return 0;
}

/* The bss tail of a segment's last file page: into a writable mapping. */
int copy_to_user(uint64_t user_dst, const void *src, uint64_t n)
{
	(void)src;
	for (unsigned int i = 0; i < model.nr_maps; i++)
		if ((model.maps[i].prot & PROT_WRITE) && user_dst >= model.maps[i].start &&
		    n <= model.maps[i].len - (user_dst - model.maps[i].start))
			return 0;
	fuzz_fail("elf_map: writes outside what it mapped writable");
}

static void load(uint64_t base)
{
	static const struct file_ops ops = {.mmap = file_mmap};
	static struct elf_image img;
	struct file f = {.refs = 1, .ops = &ops, .size = model.size};
	struct mm mm;
	uint64_t lo = UINT64_MAX, hi = 0;

	memset(&mm, 0, sizeof(mm));
	model.nr_maps = 0;
	if (elf_read_headers(&f, &img) < 0 || elf_map(&mm, &f, &img, base) < 0)
		return;
	/* Every mapping inside [lowest segment page, end) of this image. */
	for (unsigned int i = 0; i < img.ehdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &img.phdrs[i];

		if (ph->p_type == PT_LOAD && (ph->p_vaddr & ~(uint64_t)(PAGE_SIZE - 1)) < lo)
			lo = ph->p_vaddr & ~(uint64_t)(PAGE_SIZE - 1);
	}
	hi = img.end;
	for (unsigned int i = 0; i < model.nr_maps; i++)
		if (model.maps[i].start < lo + img.bias || model.maps[i].start > hi ||
		    model.maps[i].len > hi - model.maps[i].start)
			fuzz_fail("elf_map: a mapping outside the image's extent");
	if (img.interp[0] != '\0' && strlen(img.interp) >= PATH_MAX)
		fuzz_fail("elf_read_headers: an interpreter path too long");
}

void fuzz_guest_elf(const uint8_t *file, size_t size, uint64_t base)
{
	model.data = file;
	model.size = size;
	load(base);
	load(0);
}
