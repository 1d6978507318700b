/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_input.h"

_Noreturn void fuzz_fail(const char *what)
{
	fprintf(stderr, "check failed: %s\n", what);
	abort();
}
