/* SPDX-License-Identifier: MIT */
#include "size_parse.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int suffix_shift(const char *s)
{
	static const char units[] = "KMGT";
	const char *u;

	if (*s == '\0' || strcasecmp(s, "B") == 0)
		return 0;
	u = strchr(units, toupper((unsigned char)*s));
	if (u == NULL)
		return -1;
	s++;
	if (*s != '\0' && strcasecmp(s, "B") != 0 && strcasecmp(s, "iB") != 0)
		return -1;
	return 10 * (int)(u - units + 1);
}

int size_parse(const char *text, uint64_t *bytes)
{
	uint64_t value = 0;
	const char *p = text;
	int shift;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*p - '0'), &value))
			return -1;
	shift = suffix_shift(p);
	if (shift < 0 || (shift > 0 && value > (UINT64_MAX >> shift)))
		return -1;
	*bytes = value << shift;
	return 0;
}
