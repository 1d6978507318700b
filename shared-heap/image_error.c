/* SPDX-License-Identifier: MIT */
#include "image_error.h"

#include <stdarg.h>
#include <stdio.h>

int image_fail(struct image_error *e, const char *fmt, ...)
{
	va_list ap;

	if (e->size == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->size, fmt, ap);
	va_end(ap);
	return -1;
}
