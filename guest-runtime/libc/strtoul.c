/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdlib.h>

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* C semantics minus errno and locale: saturates at ULONG_MAX. */
unsigned long strtoul(const char *s, char **end, int base)
{
	const char *p = s;
	unsigned long value = 0;
	int any = 0, overflow = 0;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+')
		p++;
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    digit_value(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (int d; (d = digit_value(*p)) < base; p++) {
		any = 1;
		if (__builtin_mul_overflow(value, (unsigned long)base, &value) ||
		    __builtin_add_overflow(value, (unsigned long)d, &value))
			overflow = 1;
	}
	if (end != NULL)
		*end = (char *)(any ? p : s);
	return overflow ? ULONG_MAX : value;
}
