// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *current_group = "?";
static int number;
int t_passed, t_failed;
char t_tmpdir_path[PATH_MAX];

void t_begin_group(const char *group)
{
	current_group = group;
}

static const char *errno_name(int e)
{
	const char *name = strerrorname_np(e);
	return name ? name : "unknown errno";
}

static void report(const char *name, bool ok, const char *detail)
{
	number++;
	if (ok) {
		t_passed++;
		printf("ok %d %s.%s\n", number, current_group, name);
	} else {
		t_failed++;
		printf("not ok %d %s.%s: %s\n", number, current_group, name, detail);
	}
	// A conformance failure in a guest may well kill the process next;
	// every line already printed must have left.
	fflush(stdout);
}

bool t_check(const char *name, bool cond, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	report(name, cond, detail);
	return cond;
}

long t_ok(const char *name, long ret)
{
	int e = errno;
	char detail[256];

	snprintf(detail, sizeof detail, "returned -1 (%s: %s)", errno_name(e), strerror(e));
	report(name, ret != -1, detail);
	errno = e;
	return ret;
}

bool t_err(const char *name, long ret, int want)
{
	int e = errno;
	char detail[256];
	bool ok = ret == -1 && e == want;

	if (ret != -1)
		snprintf(detail, sizeof detail, "returned %ld, want -1 (%s)", ret,
			 errno_name(want));
	else
		snprintf(detail, sizeof detail, "want %s, got (%s: %s)", errno_name(want),
			 errno_name(e), strerror(e));
	report(name, ok, detail);
	return ok;
}

bool t_eq(const char *name, long got, long want)
{
	int e = errno;
	char detail[256];

	if (got == -1)
		snprintf(detail, sizeof detail, "got -1, want %ld (%s: %s)", want, errno_name(e),
			 strerror(e));
	else
		snprintf(detail, sizeof detail, "got %ld, want %ld", got, want);
	report(name, got == want, detail);
	return got == want;
}

bool t_mem(const char *name, const void *got, const void *want, size_t n)
{
	const unsigned char *g = got, *w = want;
	size_t i;

	for (i = 0; i < n && g[i] == w[i]; i++)
		;
	return t_check(name, i == n, "byte %zu of %zu is 0x%02x, want 0x%02x", i, n,
		       i < n ? g[i] : 0, i < n ? w[i] : 0);
}

bool t_fill(const char *name, const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n && b[i] == (unsigned char)c; i++)
		;
	return t_check(name, i == n, "byte %zu of %zu is 0x%02x, want 0x%02x", i, n,
		       i < n ? b[i] : 0, (unsigned char)c);
}

const char *t_tmpdir(void)
{
	return t_tmpdir_path;
}

char *t_join(char *buf, const char *dir, const char *name)
{
	// The scratch directory is short; a path that does not fit is a bug
	// in this program, not in the system under test.
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(2);
	}
	return buf;
}

char *t_path(char *buf, const char *name)
{
	return t_join(buf, t_tmpdir_path, name);
}

void *t_map_none(size_t n)
{
	void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}
