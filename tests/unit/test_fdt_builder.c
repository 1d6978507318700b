/* SPDX-License-Identifier: MIT */
/* Builds the device tree the VMM hands the guest and reads it back with
 * libfdt.  With --dtb PATH it also writes the blob, for the dtc check. */
#include <libfdt.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "check.h"
#include "fdt_builder.h"

#define BOOTARGS "selftest=heap exit=3"

static _Alignas(8) uint8_t blob[LISPVM_FDT_MAX_SIZE];

static void check_memory_node(const void *fdt, const char *path, uint64_t gpa, uint64_t size)
{
	int node = fdt_path_offset(fdt, path);
	const void *reg;
	fdt64_t cells[2];
	int len;

	CHECK(node >= 0);
	if (node < 0)
		return;
	CHECK(strcmp(fdt_getprop(fdt, node, "device_type", NULL), "memory") == 0);
	reg = fdt_getprop(fdt, node, "reg", &len);
	CHECK(reg != NULL && len == 16);
	if (reg != NULL && len == 16) {
		/* Properties are only 4-byte aligned in the blob. */
		memcpy(cells, reg, sizeof(cells));
		CHECK(fdt64_to_cpu(cells[0]) == gpa);
		CHECK(fdt64_to_cpu(cells[1]) == size);
	}
}

static void check_tree(const void *fdt)
{
	const fdt32_t *abi;
	int len, chosen;

	CHECK(fdt_check_header(fdt) == 0);
	CHECK(fdt_totalsize(fdt) <= LISPVM_FDT_MAX_SIZE);
	CHECK(fdt_node_check_compatible(fdt, 0, LISPVM_FDT_COMPATIBLE) == 0);
	abi = fdt_getprop(fdt, 0, LISPVM_FDT_PROP_ABI, &len);
	CHECK(abi != NULL && len == 4 && fdt32_to_cpu(*abi) == LISPVM_ABI_VERSION);
	chosen = fdt_path_offset(fdt, "/chosen");
	CHECK(chosen >= 0);
	CHECK(strcmp(fdt_getprop(fdt, chosen, "bootargs", NULL), BOOTARGS) == 0);
	/* 5 GiB: 3 GiB below the MMIO hole, the remaining 2 GiB above 4 GiB. */
	check_memory_node(fdt, "/memory@0", 0, LISPVM_MMIO_HOLE_START);
	check_memory_node(fdt, "/memory@100000000", LISPVM_HIGH_RAM_START,
			  (5ULL << 30) - LISPVM_MMIO_HOLE_START);
	CHECK(fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_IMAGES) >= 0);
	CHECK(fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_DEVICES) >= 0);
}

static void test_too_small_buffer(const struct memory_layout *layout)
{
	char err[128] = "";
	uint8_t tiny[64];

	CHECK(fdt_build(tiny, sizeof(tiny), layout, BOOTARGS, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "device tree:");
}

int main(int argc, char **argv)
{
	struct memory_layout layout;
	char err[128] = "";

	CHECK(memory_layout_compute(5ULL << 30, &layout) == 0);
	CHECK(fdt_build(blob, sizeof(blob), &layout, BOOTARGS, err, sizeof(err)) == 0);
	check_tree(blob);
	test_too_small_buffer(&layout);
	if (argc == 3 && strcmp(argv[1], "--dtb") == 0) {
		FILE *f = fopen(argv[2], "wb");

		CHECK(f != NULL);
		if (f != NULL) {
			CHECK(fwrite(blob, 1, fdt_totalsize(blob), f) == fdt_totalsize(blob));
			CHECK(fclose(f) == 0);
		}
	}
	return check_result("fdt_builder");
}
