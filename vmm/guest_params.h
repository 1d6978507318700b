/* SPDX-License-Identifier: MIT */
/* What the VMM tells the guest beyond RAM: the program to run and the
 * images it reads files from (written into the device tree). */
#ifndef LISPVM_VMM_GUEST_PARAMS_H
#define LISPVM_VMM_GUEST_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#define GUEST_MAX_IMAGES 8

struct guest_image {
	const char *path; /* host path, for messages */
	uint64_t gpa;
	uint64_t size;
};

struct guest_program {
	char *const *argv; /* argc strings; argv[0] is the path in the guest */
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
};

#endif
