/* SPDX-License-Identifier: MIT */
/* The one-line reason a step of an image build failed, written into the
 * caller's buffer so the command decides how (and whether) to print it. */
#ifndef LISPVM_IMAGE_ERROR_H
#define LISPVM_IMAGE_ERROR_H

#include <stddef.h>

struct image_error {
	char *buf;
	size_t size;
};

/* Formats the reason into e (truncating if needed) and returns -1, so a
 * failing step can say `return image_fail(e, ...)`. */
int image_fail(struct image_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
