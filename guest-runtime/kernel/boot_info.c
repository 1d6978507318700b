/* SPDX-License-Identifier: MIT */
#include "kernel/boot_info.h"

#include <libfdt.h>
#include <start_info.h>
#include <string.h>

#include <lispvm/abi.h>

#include "kernel/memory.h"
#include "kernel/printk.h"

static void add_ram(struct boot_info *bi, uint64_t start, uint64_t size)
{
	if (size == 0)
		return;
	if (bi->nr_ram == BOOT_MAX_RAM_RANGES)
		panic("more than %d RAM ranges", BOOT_MAX_RAM_RANGES);
	/* Kept sorted by address: pmem walks the gaps between ranges. */
	unsigned int i = bi->nr_ram++;

	for (; i > 0 && bi->ram[i - 1].start > start; i--)
		bi->ram[i] = bi->ram[i - 1];
	bi->ram[i] = (struct phys_range){start, start + size};
}

static void copy_string(char *dst, size_t size, const char *src, size_t src_max)
{
	size_t n = strnlen(src, src_max);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The lispvm device tree, if module 0 is one (abi.h). */
static const void *find_lispvm_fdt(const struct hvm_start_info *si)
{
	const struct hvm_modlist_entry *mods;

	if (si->nr_modules == 0 || si->modlist_paddr == 0)
		return NULL;
	mods = phys_to_virt(si->modlist_paddr);
	if (mods[0].cmdline_paddr == 0 ||
	    strcmp(phys_to_virt(mods[0].cmdline_paddr), LISPVM_FDT_MODULE_NAME) != 0)
		return NULL;
	/* libfdt reads as far as the header's totalsize says: the module's
	 * own size must hold the header and all of that. */
	if (mods[0].size < sizeof(struct fdt_header) ||
	    fdt_check_header(phys_to_virt(mods[0].paddr)) != 0 ||
	    fdt_totalsize(phys_to_virt(mods[0].paddr)) > mods[0].size)
		return NULL;
	return phys_to_virt(mods[0].paddr);
}

static const char *prop_string(const void *fdt, int node, const char *name)
{
	int len;
	const char *p = fdt_getprop(fdt, node, name, &len);

	return p != NULL && len > 0 && p[len - 1] == '\0' ? p : NULL;
}

/* One pass over /chosen's properties: every fdt_getprop would walk the
 * list again, and each ring-0 instruction is expensive where ring 0 is
 * emulated (nested PVM). */
static void parse_program(const void *fdt, int chosen, struct boot_program *prog)
{
	bool has_envp = false;
	int prop;

	prog->cwd = "/";
	fdt_for_each_property_offset(prop, fdt, chosen)
	{
		const char *name;
		int len;
		const void *val = fdt_getprop_by_offset(fdt, prop, &name, &len);
		const char *str = val;
		bool is_argv;

		if (val == NULL)
			panic("device tree: bad property in /chosen");
		is_argv = strcmp(name, LISPVM_FDT_PROP_ARGV) == 0;
		if (is_argv || strcmp(name, LISPVM_FDT_PROP_ENVP) == 0) {
			/* A string list must end in NUL (an empty list is fine). */
			if (len > 0 && str[len - 1] != '\0')
				panic("device tree: bad %s", name);
			if (is_argv) {
				prog->present = true;
				prog->argv = str;
				prog->argv_len = len;
			} else {
				has_envp = true;
				prog->envp = str;
				prog->envp_len = len;
			}
		} else if (strcmp(name, LISPVM_FDT_PROP_CWD) == 0 && len > 0 &&
			   str[len - 1] == '\0') {
			prog->cwd = str;
		} else if (strcmp(name, LISPVM_FDT_PROP_EXEC_PATH) == 0 && len > 1 &&
			   str[len - 1] == '\0' && str[0] == '/') {
			prog->exec_path = str;
		} else if (strcmp(name, LISPVM_FDT_PROP_TTY) == 0 && len == sizeof(fdt32_t)) {
			prog->tty_mask = fdt32_ld(val);
		} else if (strcmp(name, LISPVM_FDT_PROP_WINSIZE) == 0 &&
			   len == 2 * sizeof(fdt32_t)) {
			prog->rows = (uint16_t)fdt32_ld(val);
			prog->cols = (uint16_t)fdt32_ld((const fdt32_t *)val + 1);
		} else if (strcmp(name, LISPVM_FDT_PROP_STRACE) == 0) {
			prog->strace = true;
		}
	}
	if (prog->present && (prog->argv_len == 0 || !has_envp))
		panic("device tree: empty %s or no %s", LISPVM_FDT_PROP_ARGV, LISPVM_FDT_PROP_ENVP);
}

/* reg = <ADDR SIZE> with two cells each; false if absent or otherwise. */
static bool read_reg(const void *fdt, int node, uint64_t *gpa, uint64_t *size)
{
	fdt64_t cells[2];
	int len;
	const void *reg = fdt_getprop(fdt, node, "reg", &len);

	if (reg == NULL || len != sizeof(cells))
		return false;
	memcpy(cells, reg, sizeof(cells));
	*gpa = fdt64_to_cpu(cells[0]);
	*size = fdt64_to_cpu(cells[1]);
	return true;
}

static void parse_images(const void *fdt, int images, struct boot_info *bi)
{
	int node;

	fdt_for_each_subnode(node, fdt, images)
	{
		struct boot_image *img = &bi->images[bi->nr_images];

		if (bi->nr_images == BOOT_MAX_IMAGES)
			panic("device tree: more than %d images", BOOT_MAX_IMAGES);
		if (!read_reg(fdt, node, &img->gpa, &img->size))
			panic("device tree: image without reg");
		img->path = prop_string(fdt, node, LISPVM_FDT_PROP_PATH);
		bi->nr_images++;
	}
}

/* virtio-mmio devices; each must lie in the MMIO hole, where no RAM is. */
static void parse_devices(const void *fdt, int devices, struct boot_info *bi)
{
	int node;

	fdt_for_each_subnode(node, fdt, devices)
	{
		struct boot_device *d = &bi->devices[bi->nr_devices];
		const fdt32_t *vector, *id, *port;
		int len, id_len;

		if (fdt_node_check_compatible(fdt, node, LISPVM_FDT_VIRTIO_MMIO) != 0)
			continue;
		if (bi->nr_devices == BOOT_MAX_DEVICES)
			panic("device tree: more than %d devices", BOOT_MAX_DEVICES);
		vector = fdt_getprop(fdt, node, LISPVM_FDT_PROP_MSI_VECTOR, &len);
		id = fdt_getprop(fdt, node, LISPVM_FDT_PROP_DEVICE_ID, &id_len);
		if (!read_reg(fdt, node, &d->gpa, &d->size) || vector == NULL || len != 4 ||
		    id == NULL || id_len != 4 || d->gpa < LISPVM_MMIO_HOLE_START ||
		    d->size > LISPVM_VIRTIO_MMIO_STRIDE || d->gpa % LISPVM_VIRTIO_MMIO_STRIDE ||
		    d->gpa + d->size > LISPVM_HIGH_RAM_START)
			panic("device tree: bad virtio-mmio device");
		d->msi_vector = fdt32_ld(vector);
		d->device_id = fdt32_ld(id);
		port = fdt_getprop(fdt, node, LISPVM_FDT_PROP_NOTIFY_PORT, &len);
		d->notify_port = port != NULL && len == 4 && fdt32_ld(port) <= 0xffff
					 ? (uint16_t)fdt32_ld(port)
					 : 0;
		bi->nr_devices++;
	}
}

static void parse_mounts(const void *fdt, int mounts, struct boot_info *bi)
{
	int node;

	fdt_for_each_subnode(node, fdt, mounts)
	{
		const char *path = prop_string(fdt, node, LISPVM_FDT_PROP_GUEST_PATH);

		if (bi->nr_mounts == BOOT_MAX_MOUNTS)
			panic("device tree: more than %d mounts", BOOT_MAX_MOUNTS);
		if (path == NULL || path[0] != '/')
			panic("device tree: mount without an absolute " LISPVM_FDT_PROP_GUEST_PATH);
		bi->mounts[bi->nr_mounts++] = (struct boot_mount){
			.guest_path = path,
			.readonly = fdt_getprop(fdt, node, LISPVM_FDT_PROP_READONLY, NULL) != NULL,
		};
	}
}

/* The root's properties, in one pass: compatible, the cell sizes, the
 * VMM's ABI version. */
static void parse_root(const void *fdt, struct boot_info *bi)
{
	bool compatible = false;
	int prop, cells = 0;

	fdt_for_each_property_offset(prop, fdt, 0)
	{
		const char *name;
		int len;
		const void *val = fdt_getprop_by_offset(fdt, prop, &name, &len);

		if (val == NULL)
			panic("device tree: bad property at the root");
		if (strcmp(name, "compatible") == 0)
			compatible = len == sizeof(LISPVM_FDT_COMPATIBLE) &&
				     memcmp(val, LISPVM_FDT_COMPATIBLE, len) == 0;
		else if ((strcmp(name, "#address-cells") == 0 ||
			  strcmp(name, "#size-cells") == 0) &&
			 len == sizeof(fdt32_t) && fdt32_ld(val) == 2)
			cells++;
		else if (strcmp(name, LISPVM_FDT_PROP_ABI) == 0 && len == sizeof(fdt32_t))
			bi->vmm_abi_version = fdt32_ld(val);
	}
	if (!compatible)
		panic("device tree is not " LISPVM_FDT_COMPATIBLE);
	if (cells != 2)
		panic("device tree: expected #address-cells = #size-cells = 2");
	if (bi->vmm_abi_version == 0)
		panic("device tree has no " LISPVM_FDT_PROP_ABI);
	if (bi->vmm_abi_version != LISPVM_ABI_VERSION)
		panic("the VMM speaks lispvm ABI %u, this guest runtime speaks %d",
		      bi->vmm_abi_version, LISPVM_ABI_VERSION);
}

/* libfdt 1.6.1 (Debian 12's, the archive linked into the guest) adds a
 * property's length to its offset unchecked (upstream checks it from
 * v1.7.0, commit 73590342): a length of 0xfffffff4 makes a property its
 * own successor, so every walk over it never ends, and one of 0xfffffff5
 * to 0xffffffff is handed back as a negative length.  Every libfdt walk
 * follows the one chain of tags from offset 0, so refusing those here,
 * once, bounds them all. */
static void check_structure(const void *fdt)
{
	for (int offset = 0, next;; offset = next) {
		uint32_t tag = fdt_next_tag(fdt, offset, &next);
		int len = 0;

		if (tag == FDT_END)
			return;
		if (tag == FDT_PROP)
			fdt_get_property_by_offset(fdt, offset, &len);
		if (next <= offset || len < 0)
			panic("device tree: bad tag at structure offset %d", offset);
	}
}

/* The VMM's ABI version, the program, the images and the mounts.  Every
 * libfdt lookup walks the blob in ring 0, which nested PVM emulates
 * slowly, so the root's children are visited once and dispatched by name,
 * and the command line is taken from the PVH start info (the VMM writes
 * the same string to both) rather than from /chosen. */
static void parse_fdt(const void *fdt, struct boot_info *bi)
{
	int node;

	check_structure(fdt);
	parse_root(fdt, bi);
	fdt_for_each_subnode(node, fdt, 0)
	{
		const char *name = fdt_get_name(fdt, node, NULL);

		if (name == NULL)
			panic("device tree: bad node at the root");
		if (strcmp(name, "chosen") == 0)
			parse_program(fdt, node, &bi->program);
		else if (strcmp(name, LISPVM_FDT_NODE_IMAGES) == 0)
			parse_images(fdt, node, bi);
		else if (strcmp(name, LISPVM_FDT_NODE_MOUNTS) == 0)
			parse_mounts(fdt, node, bi);
		else if (strcmp(name, LISPVM_FDT_NODE_DEVICES) == 0)
			parse_devices(fdt, node, bi);
	}
}

/* RAM comes from the PVH memory map on every platform: it is the standard
 * place, QEMU provides nothing else, and lispvm writes the same ranges as
 * its device tree's memory nodes.  One path, and no device-tree walk. */
static void parse_pvh_memmap(const struct hvm_start_info *si, struct boot_info *bi)
{
	const struct hvm_memmap_table_entry *map;

	if (si->version < 1 || si->memmap_entries == 0)
		panic("PVH start info has no memory map (version %u)", si->version);
	map = phys_to_virt(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		if (map[i].type == XEN_HVM_MEMMAP_TYPE_RAM)
			add_ram(bi, map[i].addr, map[i].size);
}

void boot_info_parse(uint64_t start_info_paddr, struct boot_info *bi)
{
	const struct hvm_start_info *si = phys_to_virt(start_info_paddr);
	const void *fdt;

	memset(bi, 0, sizeof(*bi));
	bi->start_info_paddr = start_info_paddr;
	if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
		platform_init(PLATFORM_PVH);
		panic("bad PVH start info magic 0x%x", si->magic);
	}
	fdt = find_lispvm_fdt(si);
	bi->platform = fdt != NULL ? PLATFORM_LISPVM : PLATFORM_PVH;
	platform_init(bi->platform);
	if (fdt != NULL)
		parse_fdt(fdt, bi);
	if (si->cmdline_paddr != 0)
		copy_string(bi->cmdline, sizeof(bi->cmdline), phys_to_virt(si->cmdline_paddr),
			    BOOT_CMDLINE_MAX);
	parse_pvh_memmap(si, bi);
	if (bi->nr_ram == 0)
		panic("the loader described no RAM");
}

int boot_cmdline_get(const struct boot_info *bi, const char *key, char *val, unsigned int size)
{
	size_t key_len = strlen(key);

	for (const char *p = bi->cmdline; *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
			size_t n = len - key_len - 1;

			if (n >= size)
				n = size - 1;
			memcpy(val, p + key_len + 1, n);
			val[n] = '\0';
			return 0;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return -1;
}

uint64_t boot_ram_bytes(const struct boot_info *bi)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < bi->nr_ram; i++)
		total += bi->ram[i].end - bi->ram[i].start;
	return total;
}

const struct boot_device *boot_device_find(const struct boot_info *bi, uint32_t device_id)
{
	for (unsigned int i = 0; i < bi->nr_devices; i++)
		if (bi->devices[i].device_id == device_id)
			return &bi->devices[i];
	return NULL;
}
