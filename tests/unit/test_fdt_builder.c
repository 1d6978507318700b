/* SPDX-License-Identifier: MIT */
/* Builds the device tree the VMM hands the guest and reads it back with
 * libfdt.  With --dtb PATH it also writes the blob, for the dtc check. */
#include <libfdt.h>
#include <linux/virtio_ids.h>
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

static char *const test_argv[] = {"/bin/prog", "first arg", ""};
static char *const test_envp[] = {"HOME=/root", "LANG=C.UTF-8"};
static const struct guest_program test_program = {
	.argv = test_argv,
	.argc = 3,
	.envp = test_envp,
	.envc = 2,
	.cwd = "/work",
	.tty_mask = 0x6,
	.rows = 40,
	.cols = 120,
	.strace = true,
};

/* A string list decodes to exactly the strings, empty ones included. */
static void check_string_list(const void *fdt, int node, const char *name, char *const *want, int n)
{
	int len, count = fdt_stringlist_count(fdt, node, name);

	CHECK(count == n);
	for (int i = 0; i < n && i < count; i++)
		CHECK(strcmp(fdt_stringlist_get(fdt, node, name, i, &len), want[i]) == 0);
}

static void check_program(const void *fdt)
{
	int chosen = fdt_path_offset(fdt, "/chosen"), len;
	const fdt32_t *cells;

	check_string_list(fdt, chosen, LISPVM_FDT_PROP_ARGV, test_argv, 3);
	check_string_list(fdt, chosen, LISPVM_FDT_PROP_ENVP, test_envp, 2);
	CHECK(strcmp(fdt_getprop(fdt, chosen, LISPVM_FDT_PROP_CWD, NULL), "/work") == 0);
	cells = fdt_getprop(fdt, chosen, LISPVM_FDT_PROP_TTY, &len);
	CHECK(cells != NULL && len == 4 && fdt32_to_cpu(cells[0]) == 0x6);
	cells = fdt_getprop(fdt, chosen, LISPVM_FDT_PROP_WINSIZE, &len);
	CHECK(cells != NULL && len == 8 && fdt32_to_cpu(cells[0]) == 40 &&
	      fdt32_to_cpu(cells[1]) == 120);
	CHECK(fdt_getprop(fdt, chosen, LISPVM_FDT_PROP_STRACE, &len) != NULL && len == 0);
}

static void check_images(const void *fdt)
{
	int node = fdt_path_offset(fdt, "/images/image@140000000");
	const void *reg;
	fdt64_t cells[2];
	int len;

	CHECK(node >= 0);
	if (node < 0)
		return;
	reg = fdt_getprop(fdt, node, "reg", &len);
	CHECK(reg != NULL && len == 16);
	if (reg != NULL && len == 16) {
		memcpy(cells, reg, sizeof(cells));
		CHECK(fdt64_to_cpu(cells[0]) == 0x140000000ULL);
		CHECK(fdt64_to_cpu(cells[1]) == 0x5000);
	}
	CHECK(strcmp(fdt_getprop(fdt, node, LISPVM_FDT_PROP_PATH, NULL), "/tmp/a.img") == 0);
}

/* Both mounts, in order; only the read-only one has lispvm,readonly. */
static void check_mounts(const void *fdt)
{
	int m0 = fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_MOUNTS "/mount@0");
	int m1 = fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_MOUNTS "/mount@1");
	const fdt32_t *reg;
	int len;

	CHECK(m0 >= 0 && m1 >= 0);
	if (m0 < 0 || m1 < 0)
		return;
	CHECK(strcmp(fdt_getprop(fdt, m0, LISPVM_FDT_PROP_GUEST_PATH, NULL), "/data") == 0);
	CHECK(strcmp(fdt_getprop(fdt, m0, LISPVM_FDT_PROP_PATH, NULL), "/srv/data") == 0);
	CHECK(fdt_getprop(fdt, m0, LISPVM_FDT_PROP_READONLY, &len) == NULL);
	CHECK(strcmp(fdt_getprop(fdt, m1, LISPVM_FDT_PROP_GUEST_PATH, NULL), "/src/lib") == 0);
	CHECK(strcmp(fdt_getprop(fdt, m1, LISPVM_FDT_PROP_PATH, NULL), "rel/lib") == 0);
	CHECK(fdt_getprop(fdt, m1, LISPVM_FDT_PROP_READONLY, &len) != NULL && len == 0);
	reg = fdt_getprop(fdt, m1, "reg", &len);
	CHECK(reg != NULL && len == 4 && fdt32_to_cpu(reg[0]) == 1);
	CHECK(fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_MOUNTS "/mount@2") < 0);
}

static void check_devices(const void *fdt)
{
	int d = fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_DEVICES "/virtio_mmio@d0000000");
	const fdt64_t *reg;
	const fdt32_t *vector, *id;
	int len;

	CHECK(d >= 0);
	if (d < 0)
		return;
	CHECK(fdt_node_check_compatible(fdt, d, LISPVM_FDT_VIRTIO_MMIO) == 0);
	reg = fdt_getprop(fdt, d, "reg", &len);
	CHECK(reg != NULL && len == 16 && fdt64_to_cpu(reg[0]) == LISPVM_VIRTIO_MMIO_BASE &&
	      fdt64_to_cpu(reg[1]) == LISPVM_VIRTIO_MMIO_SIZE);
	vector = fdt_getprop(fdt, d, LISPVM_FDT_PROP_MSI_VECTOR, &len);
	CHECK(vector != NULL && len == 4 && fdt32_to_cpu(*vector) == LISPVM_VIRTIO_CONSOLE_VECTOR);
	id = fdt_getprop(fdt, d, LISPVM_FDT_PROP_DEVICE_ID, &len);
	CHECK(id != NULL && len == 4 && fdt32_to_cpu(*id) == VIRTIO_ID_CONSOLE);
	id = fdt_getprop(fdt, d, LISPVM_FDT_PROP_NOTIFY_PORT, &len);
	CHECK(id != NULL && len == 4 && fdt32_to_cpu(*id) == LISPVM_VIRTIO_NOTIFY_PORT_BASE);
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
	CHECK(fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_MOUNTS) >= 0);
	CHECK(fdt_path_offset(fdt, "/" LISPVM_FDT_NODE_DEVICES) >= 0);
}

static void test_too_small_buffer(const struct memory_layout *layout)
{
	char err[128] = "";
	uint8_t tiny[64];

	struct guest_params none = {0};

	CHECK(fdt_build(tiny, sizeof(tiny), layout, BOOTARGS, &none, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "device tree:");
}

int main(int argc, char **argv)
{
	struct memory_layout layout;
	char err[128] = "";

	struct guest_params params = {
		.program = &test_program,
		.images = {{.path = "/tmp/a.img", .gpa = 0x140000000ULL, .size = 0x5000}},
		.nr_images = 1,
		.mounts = {{.host_path = "/srv/data", .guest_path = "/data"},
			   {.host_path = "rel/lib", .guest_path = "/src/lib", .readonly = true}},
		.nr_mounts = 2,
		.devices = {{.gpa = LISPVM_VIRTIO_MMIO_BASE,
			     .size = LISPVM_VIRTIO_MMIO_SIZE,
			     .device_id = VIRTIO_ID_CONSOLE,
			     .msi_vector = LISPVM_VIRTIO_CONSOLE_VECTOR,
			     .notify_port = LISPVM_VIRTIO_NOTIFY_PORT_BASE}},
		.nr_devices = 1,
	};

	CHECK(memory_layout_compute(5ULL << 30, &layout) == 0);
	CHECK(memory_layout_image_base(&layout) == 0x180000000ULL);
	CHECK(fdt_build(blob, sizeof(blob), &layout, BOOTARGS, &params, err, sizeof(err)) == 0);
	check_tree(blob);
	check_program(blob);
	check_images(blob);
	check_mounts(blob);
	check_devices(blob);
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
