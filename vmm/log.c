/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

bool log_verbose_enabled;

static void log_line(const char *fmt, va_list ap)
{
	fputs("lispvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void log_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose_enabled)
		return;
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}
