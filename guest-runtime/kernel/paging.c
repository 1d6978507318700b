/* SPDX-License-Identifier: MIT */
#include "kernel/paging.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_features.h"
#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"

#define PAGE_2M (1ull << 21)
#define PAGE_1G (1ull << 30)

static uint64_t *kernel_pml4;

static unsigned int table_index(uint64_t virt, int level)
{
	return (virt >> (PAGE_SHIFT + 9 * level)) & 511;
}

/* The table the entry points to, allocated (zeroed) if absent. */
static uint64_t *next_table(uint64_t *entry)
{
	uint64_t phys;

	if (*entry & PTE_PRESENT) {
		if (*entry & PTE_LARGE)
			panic("paging: mapping over a large page");
		return phys_to_virt(*entry & PTE_ADDR_MASK);
	}
	phys = pmem_alloc_zeroed_page();
	if (phys == 0)
		return NULL;
	/* Permissions are decided at the leaf; upper levels allow all. */
	*entry = phys | PTE_PRESENT | PTE_WRITE | PTE_USER;
	return phys_to_virt(phys);
}

/* The table at `level` (0 = 4 KiB entries, 1 = 2 MiB, 2 = 1 GiB) that
 * holds the entry for virt, allocating tables on the way. */
static uint64_t *walk_to(uint64_t *pml4, uint64_t virt, int level)
{
	uint64_t *table = pml4;

	for (int l = 3; l > level && table != NULL; l--)
		table = next_table(&table[table_index(virt, l)]);
	return table;
}

static int largest_level(uint64_t virt, uint64_t phys, uint64_t left)
{
	if (cpu_features.page_1g && left >= PAGE_1G && ((virt | phys) & (PAGE_1G - 1)) == 0)
		return 2;
	if (left >= PAGE_2M && ((virt | phys) & (PAGE_2M - 1)) == 0)
		return 1;
	return 0;
}

int paging_map(uint64_t *pml4, uint64_t virt, uint64_t phys, uint64_t size, uint64_t flags)
{
	if (((virt | phys | size) & (PAGE_SIZE - 1)) != 0)
		return -1;
	if (!cpu_features.nx)
		flags &= ~PTE_NX;
	while (size > 0) {
		int level = largest_level(virt, phys, size);
		uint64_t step = 1ull << (PAGE_SHIFT + 9 * level);
		uint64_t *table = walk_to(pml4, virt, level);
		unsigned int i = table_index(virt, level);
		uint64_t n = size / step < 512 - i ? size / step : 512 - i;
		uint64_t entry = phys | flags | PTE_PRESENT | (level ? PTE_LARGE : 0);

		if (table == NULL)
			return -1;
		/* Fill the rest of this table in one go: one walk per table,
		 * not per page, and a store per entry (each ring-0 instruction
		 * counts where ring 0 is emulated).  Within one table no entry
		 * can start a larger page (that boundary is the next table's
		 * first entry), so the level holds for all n. */
		for (uint64_t k = 0; k < n; k++, entry += step)
			table[i + k] = entry;
		virt += n * step;
		phys += n * step;
		size -= n * step;
	}
	return 0;
}

static void map_or_panic(uint64_t virt, uint64_t phys, uint64_t size, uint64_t flags)
{
	if (paging_map(kernel_pml4, virt, phys, size, flags) < 0)
		panic("out of memory building the kernel page tables");
}

static void map_kernel_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t v = (uint64_t)start;
	uint64_t size = ((uint64_t)(end - start) + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);

	map_or_panic(v, v - KERNEL_VMA, size, flags | PTE_GLOBAL);
}

void paging_init(const struct boot_info *bi)
{
	uint64_t phys = pmem_alloc_zeroed_page();

	if (phys == 0)
		panic("out of memory for the kernel page tables");
	kernel_pml4 = phys_to_virt(phys);
	/* The direct map is rounded out to 2 MiB so the first 2 MiB (low RAM,
	 * the legacy hole, boot data) take one entry instead of 512: each
	 * ring-0 instruction is expensive where ring 0 is emulated (nested
	 * PVM).  Nothing dereferences the non-RAM addresses this also maps. */
	for (unsigned int i = 0; i < bi->nr_ram; i++) {
		uint64_t start = bi->ram[i].start & ~(PAGE_2M - 1);
		uint64_t end = (bi->ram[i].end + PAGE_2M - 1) & ~(PAGE_2M - 1);

		if (end > DIRECT_MAP_SIZE)
			panic("RAM above the 64 TiB the direct map covers");
		map_or_panic(DIRECT_MAP_BASE + start, start, end - start,
			     PTE_WRITE | PTE_GLOBAL | PTE_NX);
	}
	/* Images are read-only memory slots: a write would stop the VM. */
	for (unsigned int i = 0; i < bi->nr_images; i++) {
		uint64_t start = bi->images[i].gpa & ~(PAGE_2M - 1);
		uint64_t end =
			(bi->images[i].gpa + bi->images[i].size + PAGE_2M - 1) & ~(PAGE_2M - 1);

		if (end > DIRECT_MAP_SIZE || end < start)
			panic("image above the 64 TiB the direct map covers");
		map_or_panic(DIRECT_MAP_BASE + start, start, end - start, PTE_GLOBAL | PTE_NX);
	}
	/* Device registers, uncached, where the direct map would put them. */
	for (unsigned int i = 0; i < bi->nr_devices; i++)
		map_or_panic(DIRECT_MAP_BASE + bi->devices[i].gpa, bi->devices[i].gpa, PAGE_SIZE,
			     PTE_WRITE | PTE_PCD | PTE_PWT | PTE_GLOBAL | PTE_NX);
	map_kernel_section(_text_start, _text_end, 0);
	map_kernel_section(_rodata_start, _rodata_end, PTE_NX);
	map_kernel_section(_data_start, _kernel_end, PTE_WRITE | PTE_NX);
	write_cr3(phys);
}

uint64_t *paging_kernel_pml4(void)
{
	return kernel_pml4;
}

uint64_t *paging_pte(uint64_t *pml4, uint64_t virt, int alloc)
{
	uint64_t *table = pml4;

	for (int level = 3; level > 0; level--) {
		uint64_t *entry = &table[table_index(virt, level)];

		if (!(*entry & PTE_PRESENT) && !alloc)
			return NULL;
		table = next_table(entry);
		if (table == NULL)
			return NULL;
	}
	return &table[table_index(virt, 0)];
}
