/* SPDX-License-Identifier: MIT */
/* Read-only images: each file mapped once, MAP_SHARED and PROT_READ, into a
 * read-only memory slot, so every VM reading the same image shares the
 * host's page cache copy and no guest can write to it. */
#ifndef LISPVM_VMM_IMAGE_SLOTS_H
#define LISPVM_VMM_IMAGE_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "guest_memory.h"
#include "guest_params.h"
#include "kvm_vm.h"

struct image_mapping {
	void *host;
	uint64_t size; /* of the mapping (the file, page-rounded) */
};

/* Maps paths[0..n) at gpa_base and up (each 2 MiB-aligned) and fills
 * params->images.  Each file must be an EROFS image (superblock magic and
 * a block count that fits the file: a truncated image is refused here).
 * Returns 0, or -1 with a one-line reason in err. */
int image_slots_map(struct kvm_vm *kvm, struct guest_memory *mem, const char *const *paths,
		    unsigned int n, uint64_t gpa_base, struct guest_params *params,
		    struct image_mapping *mappings, char *err, size_t err_size);

void image_slots_unmap(struct image_mapping *mappings, unsigned int n);

/* The same check of one file without mapping it: 0 if it is an EROFS
 * image whose block count fits it, else -1 with a one-line reason. */
int image_file_check(const char *path, char *err, size_t err_size);

#endif
