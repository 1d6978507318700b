/* SPDX-License-Identifier: MIT */
/*
 * The device tree, both ends: the guest's reader (guest-runtime/kernel/
 * boot_info.c, compiled with the guest's headers) and the VMM's builder
 * (vmm/fdt_builder.c) read back by it.  The first byte picks:
 *
 *  - even: the rest is a device tree blob, handed to the guest as module 0
 *    of its PVH start info (in a heap block of its exact size).  What the
 *    guest accepts must point inside the blob: every string it keeps ends
 *    there, and the argv and envp lists lie within it.
 *  - odd: the rest describes what a VMM would put in the tree (argv,
 *    environment, cwd, exec path, terminal, strace, images, mounts,
 *    devices, RAM, the command line); fdt_build() writes it and the guest
 *    must read back exactly that, without a panic.
 *
 * A panic in the guest (its way to refuse a tree) returns to the harness.
 */
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "fuzz_fdt_boot_info.h"
#include "fuzz_input.h"
/* The guest's BOOT_CMDLINE_MAX (its buffer) and the VMM's (its boot data
 * area) are different things of one name; this file uses neither. */
#undef BOOT_CMDLINE_MAX
#include "fdt_builder.h"

#define STR_MAX	  40
#define NR_STR	  64
#define BUILD_MAX 0x10000

struct strings {
	char s[NR_STR][STR_MAX];
	unsigned int n;
};

/* A string of up to STR_MAX - 1 bytes, none of them NUL, after prefix. */
static char *take_string(struct fuzz_input *in, struct strings *st, const char *prefix)
{
	char *s = st->s[st->n++ % NR_STR];
	size_t p = strlen(prefix), n = fuzz_u8(in) % (STR_MAX - p);

	memcpy(s, prefix, p);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = fuzz_u8(in);

		s[p + i] = c ? (char)c : '.';
	}
	s[p + n] = '\0';
	return s;
}

/* [s, its NUL] lies inside blob[0..size). */
static bool inside(const char *s, const void *blob, size_t size)
{
	const char *b = blob;

	return s >= b && s < b + size && memchr(s, '\0', (size_t)(b + size - s)) != NULL;
}

static void check_raw(const struct boot_info *bi, const void *fdt, size_t size)
{
	const struct boot_program *p = &bi->program;
	const char *b = fdt;

	if (bi->nr_images > BOOT_MAX_IMAGES || bi->nr_mounts > BOOT_MAX_MOUNTS ||
	    bi->nr_devices > BOOT_MAX_DEVICES)
		fuzz_fail("too many images, mounts or devices");
	if (p->present && (p->argv_len <= 0 || p->argv < b ||
			   (size_t)p->argv_len > size - (size_t)(p->argv - b) ||
			   p->argv[p->argv_len - 1] != '\0'))
		fuzz_fail("argv outside the blob");
	if (p->envp_len < 0)
		fuzz_fail("negative envp length");
	if (p->present && p->envp_len > 0 &&
	    (p->envp < b || (size_t)p->envp_len > size - (size_t)(p->envp - b) ||
	     p->envp[p->envp_len - 1] != '\0'))
		fuzz_fail("envp outside the blob");
	if (p->cwd != NULL && strcmp(p->cwd, "/") != 0 && !inside(p->cwd, fdt, size))
		fuzz_fail("cwd outside the blob");
	if (p->exec_path != NULL && !inside(p->exec_path, fdt, size))
		fuzz_fail("exec path outside the blob");
	for (unsigned int i = 0; i < bi->nr_images; i++)
		if (bi->images[i].path != NULL && !inside(bi->images[i].path, fdt, size))
			fuzz_fail("image path outside the blob");
	for (unsigned int i = 0; i < bi->nr_mounts; i++)
		if (!inside(bi->mounts[i].guest_path, fdt, size))
			fuzz_fail("mount path outside the blob");
}

static void raw(struct fuzz_input *in)
{
	void *fdt = malloc(in->size ? in->size : 1);
	struct boot_info bi;
	char val[16];

	memcpy(fdt, in->data, in->size);
	if (fuzz_boot_info(fdt, in->size, "exit=3 selftest=fdt", &bi) == 0) {
		check_raw(&bi, fdt, in->size);
		boot_cmdline_get(&bi, "exit", val, sizeof(val));
		boot_device_find(&bi, 19);
		boot_ram_bytes(&bi);
	}
	free(fdt);
}

/* What the guest read must be what the builder wrote. */
static void compare(const struct guest_params *gp, const char *bootargs, const struct boot_info *bi)
{
	const struct guest_program *want = gp->program;
	const struct boot_program *got = &bi->program;
	size_t off = 0;

	if (strcmp(bi->cmdline, bootargs) != 0)
		fuzz_fail("command line");
	if (!got->present || got->argv_len <= 0)
		fuzz_fail("argv missing");
	for (int i = 0; i < want->argc; i++) {
		size_t n = strlen(want->argv[i]) + 1;

		if (off + n > (size_t)got->argv_len || memcmp(got->argv + off, want->argv[i], n))
			fuzz_fail("argv");
		off += n;
	}
	if (off != (size_t)got->argv_len)
		fuzz_fail("argv length");
	off = 0;
	for (int i = 0; i < want->envc; i++) {
		size_t n = strlen(want->envp[i]) + 1;

		if (off + n > (size_t)got->envp_len || memcmp(got->envp + off, want->envp[i], n))
			fuzz_fail("envp");
		off += n;
	}
	if (off != (size_t)got->envp_len)
		fuzz_fail("envp length");
	if (strcmp(got->cwd, want->cwd) != 0)
		fuzz_fail("cwd");
	if ((want->exec_path == NULL) != (got->exec_path == NULL) ||
	    (want->exec_path != NULL && strcmp(want->exec_path, got->exec_path) != 0))
		fuzz_fail("exec path");
	if (got->tty_mask != want->tty_mask || got->strace != want->strace ||
	    (want->tty_mask && (got->rows != want->rows || got->cols != want->cols)))
		fuzz_fail("terminal or strace");
	if (bi->nr_images != gp->nr_images || bi->nr_mounts != gp->nr_mounts ||
	    bi->nr_devices != gp->nr_devices)
		fuzz_fail("counts");
	for (unsigned int i = 0; i < gp->nr_images; i++)
		if (bi->images[i].gpa != gp->images[i].gpa ||
		    bi->images[i].size != gp->images[i].size || bi->images[i].path == NULL ||
		    strcmp(bi->images[i].path, gp->images[i].path) != 0)
			fuzz_fail("image");
	for (unsigned int i = 0; i < gp->nr_mounts; i++)
		if (strcmp(bi->mounts[i].guest_path, gp->mounts[i].guest_path) != 0 ||
		    bi->mounts[i].readonly != gp->mounts[i].readonly)
			fuzz_fail("mount");
	for (unsigned int i = 0; i < gp->nr_devices; i++) {
		const struct guest_device *w = &gp->devices[i];
		const struct boot_device *d = &bi->devices[i];

		if (d->gpa != w->gpa || d->size != w->size || d->device_id != w->device_id ||
		    d->msi_vector != w->msi_vector ||
		    d->notify_port != (w->notify_port <= 0xffff ? w->notify_port : 0))
			fuzz_fail("device");
	}
}

static void round_trip(struct fuzz_input *in)
{
	static struct strings st;
	char *argv[4], *envp[4], *bootargs, err[128];
	struct guest_program prog = {.argv = argv, .envp = envp};
	struct guest_params gp = {.program = &prog};
	struct memory_layout layout = {.nr_ram = 1 + fuzz_u8(in) % 2};
	uint8_t flags = fuzz_u8(in);
	static uint8_t blob[BUILD_MAX];
	struct boot_info bi;
	void *fdt;

	st.n = 0;
	prog.argc = 1 + fuzz_u8(in) % 4;
	for (int i = 0; i < prog.argc; i++)
		argv[i] = take_string(in, &st, "");
	prog.envc = fuzz_u8(in) % 4;
	for (int i = 0; i < prog.envc; i++)
		envp[i] = take_string(in, &st, "");
	prog.cwd = take_string(in, &st, "/");
	prog.exec_path = flags & 1 ? take_string(in, &st, "/") : NULL;
	prog.tty_mask = fuzz_u8(in) & 7;
	prog.rows = fuzz_u16(in);
	prog.cols = fuzz_u16(in);
	prog.strace = flags & 2;
	gp.nr_images = fuzz_u8(in) % (GUEST_MAX_IMAGES + 1);
	/* One field at a time: the order the input is read in is fixed. */
	for (unsigned int i = 0; i < gp.nr_images; i++) {
		gp.images[i].path = take_string(in, &st, "");
		gp.images[i].gpa = fuzz_u64(in);
		gp.images[i].size = fuzz_u64(in);
	}
	gp.nr_mounts = fuzz_u8(in) % (GUEST_MAX_MOUNTS + 1);
	for (unsigned int i = 0; i < gp.nr_mounts; i++) {
		gp.mounts[i].host_path = take_string(in, &st, "");
		gp.mounts[i].guest_path = take_string(in, &st, "/");
		gp.mounts[i].readonly = fuzz_u8(in) & 1;
	}
	gp.nr_devices = fuzz_u8(in) % (GUEST_MAX_DEVICES + 1);
	for (unsigned int i = 0; i < gp.nr_devices; i++) {
		struct guest_device *d = &gp.devices[i];

		d->gpa = LISPVM_VIRTIO_MMIO_BASE + i * LISPVM_VIRTIO_MMIO_STRIDE;
		d->size = LISPVM_VIRTIO_MMIO_STRIDE;
		d->device_id = fuzz_u32(in);
		d->msi_vector = fuzz_u32(in);
		d->notify_port = flags & 4 ? fuzz_u32(in) : fuzz_u16(in);
	}
	for (unsigned int i = 0; i < layout.nr_ram; i++) {
		layout.ram[i].gpa = fuzz_u64(in);
		layout.ram[i].size = fuzz_u64(in);
	}
	bootargs = take_string(in, &st, "");
	if (fdt_build(blob, sizeof(blob), &layout, bootargs, &gp, err, sizeof(err)) < 0)
		return;
	fdt = malloc(fdt_totalsize(blob));
	memcpy(fdt, blob, fdt_totalsize(blob));
	if (fuzz_boot_info(fdt, fdt_totalsize(blob), bootargs, &bi) < 0)
		fuzz_fail("the guest refused what the builder wrote");
	compare(&gp, bootargs, &bi);
	free(fdt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};

	if (fuzz_u8(&in) & 1)
		round_trip(&in);
	else
		raw(&in);
	return 0;
}
