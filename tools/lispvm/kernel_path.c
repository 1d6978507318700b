/* SPDX-License-Identifier: MIT */
#include "kernel_path.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lispvm_config.h"
#include "self_path.h"

void kernel_path_default(char *out, size_t size)
{
	const char *env = getenv("LISPVM_KERNEL");
	char self[PATH_MAX];

	if (env != NULL && *env != '\0') {
		snprintf(out, size, "%s", env);
		return;
	}
	if (self_path(self, sizeof(self)) == 0) {
		/* Build tree: build/tools/lispvm/lispvm and
		 * build/guest-runtime/lispvm-guest.elf. */
		snprintf(out, size, "%s/../../guest-runtime/%s", dirname(self), LISPVM_GUEST_NAME);
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, size, "%s/%s", LISPVM_GUEST_INSTALL_DIR, LISPVM_GUEST_NAME);
}
