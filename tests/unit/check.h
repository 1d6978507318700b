/* SPDX-License-Identifier: MIT */
/* A minimal assertion helper for the host unit tests: every failed check is
 * printed with its location and makes the test exit non-zero. */
#ifndef LISPVM_TESTS_CHECK_H
#define LISPVM_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_CONTAINS(haystack, needle)                                                           \
	do {                                                                                       \
		if (strstr((haystack), (needle)) == NULL) {                                        \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
				__LINE__, (haystack), (needle));                                   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static inline int check_result(const char *name)
{
	if (check_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
	else
		printf("%s: all checks passed\n", name);
	return check_failures ? 1 : 0;
}

#endif
