/* SPDX-License-Identifier: MIT */
/* What the loader told us: platform, RAM, command line. */
#ifndef GUEST_KERNEL_BOOT_INFO_H
#define GUEST_KERNEL_BOOT_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/platform.h"

#define BOOT_MAX_RAM_RANGES 16
#define BOOT_CMDLINE_MAX    1024

struct phys_range {
	uint64_t start;
	uint64_t end; /* exclusive */
};

#define BOOT_MAX_IMAGES 8

/* A read-only image region (lispvm only). */
struct boot_image {
	uint64_t gpa, size;
	const char *path; /* host path, for messages (points into the FDT) */
};

#define BOOT_MAX_MOUNTS 8

/* A host directory (--mount), served through LISPVM_HC_HOSTFS. */
struct boot_mount {
	const char *guest_path; /* absolute, canonical (points into the FDT) */
	bool readonly;
};

#define BOOT_MAX_DEVICES 4

/* A virtio-mmio device: its register page, its kind (VIRTIO_ID_*) and
 * the vector it raises. */
struct boot_device {
	uint64_t gpa, size;
	uint32_t device_id;
	uint32_t msi_vector;
	uint16_t notify_port; /* 0: notify through the QueueNotify register */
};

/* The program lispvm exec asked for.  The strings point into the device
 * tree, which stays in reserved low memory for good. */
struct boot_program {
	bool present;
	const char *argv; /* NUL-separated strings, argv_len bytes */
	int argv_len;
	const char *envp;
	int envp_len;
	const char *cwd;
	const char *exec_path; /* the file to run; NULL: argv[0] */
	uint32_t tty_mask;
	uint16_t rows, cols;
	bool strace;
};

struct boot_info {
	enum platform_kind platform;
	uint64_t start_info_paddr; /* parsed again after a snapshot restore */
	uint32_t vmm_abi_version;  /* 0 when not under lispvm */
	struct phys_range ram[BOOT_MAX_RAM_RANGES];
	unsigned int nr_ram;
	char cmdline[BOOT_CMDLINE_MAX];
	struct boot_image images[BOOT_MAX_IMAGES];
	unsigned int nr_images;
	struct boot_mount mounts[BOOT_MAX_MOUNTS];
	unsigned int nr_mounts;
	struct boot_device devices[BOOT_MAX_DEVICES];
	unsigned int nr_devices;
	struct boot_program program;
};

/* Reads the PVH start info and, under lispvm, the device tree; sets the
 * platform (console) as early as it can.  Copies everything it keeps, so
 * the loader's boot data may be reused afterwards.  Panics on bad input. */
void boot_info_parse(uint64_t start_info_paddr, struct boot_info *out);

/* The value of key=value in the command line, copied to val; 0 if found. */
int boot_cmdline_get(const struct boot_info *bi, const char *key, char *val, unsigned int size);

uint64_t boot_ram_bytes(const struct boot_info *bi);

/* The first device of that kind (VIRTIO_ID_*), or NULL. */
const struct boot_device *boot_device_find(const struct boot_info *bi, uint32_t device_id);

#endif
