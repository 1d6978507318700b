/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

int sandbox_enter(char *err, size_t err_size)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, err_size, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
