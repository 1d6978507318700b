/* SPDX-License-Identifier: MIT */
#include "fdt_builder.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lispvm/abi.h>

/* Each libfdt call returns 0 or a negative FDT_ERR_*; stop at the first. */
#define TRY(call)                                                                                  \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ < 0) {                                                                     \
			snprintf(err, err_size, "device tree: %s", fdt_strerror(rc_));             \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static int add_memory_node(void *fdt, const struct ram_range *r, char *err, size_t err_size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(r->gpa), cpu_to_fdt64(r->size)};
	char name[32];

	snprintf(name, sizeof(name), "memory@%" PRIx64, r->gpa);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	TRY(fdt_end_node(fdt));
	return 0;
}

/* A string-list property: the strings back to back, each NUL-terminated. */
static int add_string_list(void *fdt, const char *name, char *const *strings, int n, char *err,
			   size_t err_size)
{
	size_t total = 0;
	void *dst;

	for (int i = 0; i < n; i++)
		total += strlen(strings[i]) + 1;
	if (total > INT32_MAX) {
		snprintf(err, err_size, "device tree: %s is too long", name);
		return -1;
	}
	TRY(fdt_property_placeholder(fdt, name, (int)total, &dst));
	for (int i = 0; i < n; i++) {
		size_t len = strlen(strings[i]) + 1;

		memcpy(dst, strings[i], len);
		dst = (char *)dst + len;
	}
	return 0;
}

static int add_program(void *fdt, const struct guest_program *p, char *err, size_t err_size)
{
	fdt32_t winsize[2] = {cpu_to_fdt32(p->rows), cpu_to_fdt32(p->cols)};

	if (add_string_list(fdt, LISPVM_FDT_PROP_ARGV, p->argv, p->argc, err, err_size) < 0 ||
	    add_string_list(fdt, LISPVM_FDT_PROP_ENVP, p->envp, p->envc, err, err_size) < 0)
		return -1;
	TRY(fdt_property_string(fdt, LISPVM_FDT_PROP_CWD, p->cwd));
	if (p->exec_path != NULL)
		TRY(fdt_property_string(fdt, LISPVM_FDT_PROP_EXEC_PATH, p->exec_path));
	TRY(fdt_property_u32(fdt, LISPVM_FDT_PROP_TTY, p->tty_mask));
	if (p->tty_mask)
		TRY(fdt_property(fdt, LISPVM_FDT_PROP_WINSIZE, winsize, sizeof(winsize)));
	if (p->strace)
		TRY(fdt_property(fdt, LISPVM_FDT_PROP_STRACE, NULL, 0));
	return 0;
}

/* Opens a container node whose children are addressed by <gpa size>. */
static int begin_region_container(void *fdt, const char *name, char *err, size_t err_size)
{
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	return 0;
}

/* Opens the child node kind@gpa with reg = <gpa size>. */
static int begin_region_node(void *fdt, const char *kind, uint64_t gpa, uint64_t size, char *err,
			     size_t err_size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(gpa), cpu_to_fdt64(size)};
	char name[48];

	snprintf(name, sizeof(name), "%s@%" PRIx64, kind, gpa);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	return 0;
}

static int add_images(void *fdt, const struct guest_params *params, char *err, size_t err_size)
{
	if (begin_region_container(fdt, LISPVM_FDT_NODE_IMAGES, err, err_size) < 0)
		return -1;
	for (unsigned int i = 0; i < params->nr_images; i++) {
		const struct guest_image *img = &params->images[i];

		if (begin_region_node(fdt, "image", img->gpa, img->size, err, err_size) < 0)
			return -1;
		TRY(fdt_property_string(fdt, LISPVM_FDT_PROP_PATH, img->path));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	return 0;
}

/* mount@N with reg = <N>: N is the index hostfs requests name the mount
 * by; the cells make it a well-formed unit address for dtc. */
static int add_mount(void *fdt, unsigned int index, const struct guest_mount *m, char *err,
		     size_t err_size)
{
	char name[32];

	snprintf(name, sizeof(name), "mount@%x", index);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_u32(fdt, "reg", index));
	TRY(fdt_property_string(fdt, LISPVM_FDT_PROP_GUEST_PATH, m->guest_path));
	TRY(fdt_property_string(fdt, LISPVM_FDT_PROP_PATH, m->host_path));
	if (m->readonly)
		TRY(fdt_property(fdt, LISPVM_FDT_PROP_READONLY, NULL, 0));
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_mounts(void *fdt, const struct guest_params *params, char *err, size_t err_size)
{
	TRY(fdt_begin_node(fdt, LISPVM_FDT_NODE_MOUNTS));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < params->nr_mounts; i++)
		if (add_mount(fdt, i, &params->mounts[i], err, err_size) < 0)
			return -1;
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_devices(void *fdt, const struct guest_params *params, char *err, size_t err_size)
{
	if (begin_region_container(fdt, LISPVM_FDT_NODE_DEVICES, err, err_size) < 0)
		return -1;
	for (unsigned int i = 0; i < params->nr_devices; i++) {
		const struct guest_device *d = &params->devices[i];

		if (begin_region_node(fdt, "virtio_mmio", d->gpa, d->size, err, err_size) < 0)
			return -1;
		TRY(fdt_property_string(fdt, "compatible", LISPVM_FDT_VIRTIO_MMIO));
		TRY(fdt_property_u32(fdt, LISPVM_FDT_PROP_MSI_VECTOR, d->msi_vector));
		TRY(fdt_property_u32(fdt, LISPVM_FDT_PROP_DEVICE_ID, d->device_id));
		TRY(fdt_property_u32(fdt, LISPVM_FDT_PROP_NOTIFY_PORT, d->notify_port));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	return 0;
}

int fdt_build(void *buf, size_t size, const struct memory_layout *layout, const char *bootargs,
	      const struct guest_params *params, char *err, size_t err_size)
{
	TRY(fdt_create(buf, (int)size));
	TRY(fdt_finish_reservemap(buf));
	TRY(fdt_begin_node(buf, ""));
	TRY(fdt_property_string(buf, "compatible", LISPVM_FDT_COMPATIBLE));
	TRY(fdt_property_u32(buf, "#address-cells", 2));
	TRY(fdt_property_u32(buf, "#size-cells", 2));
	TRY(fdt_property_u32(buf, LISPVM_FDT_PROP_ABI, LISPVM_ABI_VERSION));

	TRY(fdt_begin_node(buf, "chosen"));
	TRY(fdt_property_string(buf, "bootargs", bootargs));
	if (params->program != NULL && add_program(buf, params->program, err, err_size) < 0)
		return -1;
	TRY(fdt_end_node(buf));

	for (unsigned int i = 0; i < layout->nr_ram; i++)
		if (add_memory_node(buf, &layout->ram[i], err, err_size) < 0)
			return -1;
	if (add_images(buf, params, err, err_size) < 0 ||
	    add_mounts(buf, params, err, err_size) < 0 ||
	    add_devices(buf, params, err, err_size) < 0)
		return -1;

	TRY(fdt_end_node(buf));
	TRY(fdt_finish(buf));
	return 0;
}
