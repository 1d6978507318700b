/* SPDX-License-Identifier: MIT */
#include "fdt_builder.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>

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

/* An empty container node that later issues fill (images, devices). */
static int add_container_node(void *fdt, const char *name, char *err, size_t err_size)
{
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_end_node(fdt));
	return 0;
}

int fdt_build(void *buf, size_t size, const struct memory_layout *layout, const char *bootargs,
	      char *err, size_t err_size)
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
	TRY(fdt_end_node(buf));

	for (unsigned int i = 0; i < layout->nr_ram; i++)
		if (add_memory_node(buf, &layout->ram[i], err, err_size) < 0)
			return -1;
	if (add_container_node(buf, LISPVM_FDT_NODE_IMAGES, err, err_size) < 0 ||
	    add_container_node(buf, LISPVM_FDT_NODE_DEVICES, err, err_size) < 0)
		return -1;

	TRY(fdt_end_node(buf));
	TRY(fdt_finish(buf));
	return 0;
}
