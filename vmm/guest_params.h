/* SPDX-License-Identifier: MIT */
/* What the VMM tells the guest beyond RAM: the program to run, the
 * images it reads files from and the host directories it may use (written
 * into the device tree). */
#ifndef LISPVM_VMM_GUEST_PARAMS_H
#define LISPVM_VMM_GUEST_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#define GUEST_MAX_IMAGES  8
#define GUEST_MAX_MOUNTS  8
#define GUEST_MAX_DEVICES 4

struct guest_image {
	const char *path; /* host path, for messages */
	uint64_t gpa;
	uint64_t size;
};

/* A --mount: the index in this array is the mount number in hostfs
 * requests. */
struct guest_mount {
	const char *host_path;	/* as given on the command line */
	const char *guest_path; /* absolute and normalized, not "/" */
	bool readonly;
	/* rw,max-size=: how much this VM may add to HOST's disk usage
	 * (vmm/hostfs_quota.c); 0 for none. */
	uint64_t max_size;
	/* A jailed warm VM's mount: its directory, opened outside the jail
	 * (a detached copy of its mount, tools/lispvm/mount_roots.c); host_path
	 * then only names it.  The VMM keeps a duplicate. */
	bool root_given;
	int root_fd;
};

/* A virtio-mmio device: its registers, its kind and the vector of its
 * MSI. */
struct guest_device {
	uint64_t gpa;
	uint64_t size;
	uint32_t device_id; /* VIRTIO_ID_* */
	uint32_t msi_vector;
	uint32_t notify_port; /* the port-I/O doorbell (abi.h) */
};

struct guest_program {
	char *const *argv;     /* argc strings */
	const char *exec_path; /* the file to run in the guest; NULL: argv[0] */
	int argc;
	char *const *envp;
	int envc;
	const char *cwd;
	uint32_t tty_mask; /* bit n: lispvm's fd n is a terminal */
	uint16_t rows, cols;
	bool strace;
};

struct guest_params {
	const struct guest_program *program; /* NULL: boot the runtime alone */
	struct guest_image images[GUEST_MAX_IMAGES];
	unsigned int nr_images;
	struct guest_mount mounts[GUEST_MAX_MOUNTS];
	unsigned int nr_mounts;
	struct guest_device devices[GUEST_MAX_DEVICES];
	unsigned int nr_devices;
};

#endif
