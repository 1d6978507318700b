/* SPDX-License-Identifier: MIT */
/*
 * vmm/log.c for the fuzzers: every message is still formatted (its
 * arguments are checked as the real one would use them) but printed only
 * with FUZZ_VERBOSE set, since a hostile guest makes the VMM complain on
 * nearly every input and a fuzzer would spend its time writing lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

bool log_verbose_enabled;

static void log_line(const char *fmt, va_list ap)
{
	static int verbose = -1;
	char line[512];

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (verbose) /* to the fd: a harness may point stderr elsewhere */
		dprintf(STDERR_FILENO, "lispvm: %s\n", line);
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

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}
