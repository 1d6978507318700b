/* SPDX-License-Identifier: MIT */
/* A snapshot's MACHINE section: what the VM was made of (its images,
 * its mounts, its devices), checked against what a restore can make and
 * read by a jail that must show those files (snapshot_paths.h). */
#ifndef LISPVM_VMM_SNAPSHOT_MACHINE_H
#define LISPVM_VMM_SNAPSHOT_MACHINE_H

#include <stdint.h>

#include "guest_params.h"

#define SNAPSHOT_PATH_MAX 1024

/* The file's identity when it was hashed: while it holds, the file is
 * the one hashed (a write changes its mtime and ctime, and only root can
 * set a ctime), so a restore does not read the whole image again. */
struct file_identity {
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct snapshot_image {
	uint64_t gpa, size;
	uint64_t content_hash; /* XXH3-64 of the file */
	struct file_identity identity;
	char path[SNAPSHOT_PATH_MAX];
};

struct snapshot_mount {
	uint32_t readonly;
	uint32_t reserved;
	char host_path[SNAPSHOT_PATH_MAX];
	char guest_path[SNAPSHOT_PATH_MAX];
};

/* snapshot_machine.flags: the guest takes host signals (a running VM's) */
#define MACHINE_HOST_SIGNALS_READY 1u

/* What the VM was made of, checked against what a restore can make. */
struct snapshot_machine {
	uint32_t nr_images, nr_mounts, nr_devices, flags;
	uint64_t start_info_gpa;
	uint64_t guest_cid;
	struct snapshot_image images[GUEST_MAX_IMAGES];
	/* A running VM's resume opens them again; otherwise for the record. */
	struct snapshot_mount mounts[GUEST_MAX_MOUNTS];
	uint32_t device_ids[GUEST_MAX_DEVICES];
};

#endif
