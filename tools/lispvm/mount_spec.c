/* SPDX-License-Identifier: MIT */
#include "mount_spec.h"

#include <stdint.h>
#include <string.h>

#include <lispvm/abi.h>

#include "size_parse.h"

bool mount_spec_guest_path_ok(const char *path)
{
	const char *p = path;

	if (path[0] != '/' || path[1] == '\0' || strlen(path) >= LISPVM_HOSTFS_PATH_MAX)
		return false;
	/* Each component after a '/': not empty, ".", or "..". */
	while (*p == '/') {
		const char *name = p + 1;
		size_t n = strcspn(name, "/");

		if (n == 0 || (n == 1 && name[0] == '.') ||
		    (n == 2 && name[0] == '.' && name[1] == '.'))
			return false;
		p = name + n;
	}
	return true;
}

/* "ro" or "rw", alone or followed by ",OPTIONS". */
static bool is_mode(const char *s)
{
	return (strncmp(s, "ro", 2) == 0 || strncmp(s, "rw", 2) == 0) &&
	       (s[2] == '\0' || s[2] == ',');
}

static const char *parse_option(const char *opt, struct guest_mount *out)
{
	static const char max_size[] = "max-size=";

	if (strncmp(opt, max_size, strlen(max_size)) != 0)
		return "has an unknown option (the one option is max-size=SIZE)";
	if (out->max_size != 0)
		return "gives max-size twice";
	/* Above INT64_MAX the byte counts in vmm/hostfs_quota.c would
	 * overflow; no disk is that large anyway. */
	if (size_parse(opt + strlen(max_size), &out->max_size) < 0 || out->max_size == 0 ||
	    out->max_size > INT64_MAX)
		return "has a bad max-size (a SIZE above 0, such as 64M or 1G)";
	return NULL;
}

/* The comma-separated options after the mode (each one non-empty). */
static const char *parse_options(char *opts, struct guest_mount *out)
{
	for (char *opt = opts;;) {
		char *comma = strchr(opt, ',');
		const char *why;

		if (comma != NULL)
			*comma = '\0';
		if ((why = parse_option(opt, out)) != NULL)
			return why;
		if (comma == NULL)
			break;
		opt = comma + 1;
	}
	if (out->readonly)
		return "has max-size on a read-only mount (it bounds what rw mounts add)";
	return NULL;
}

const char *mount_spec_parse(char *spec, struct guest_mount *out)
{
	char *colon = strrchr(spec, ':');
	const char *why;

	*out = (struct guest_mount){0};
	if (colon != NULL && is_mode(colon + 1)) {
		out->readonly = colon[2] == 'o';
		if (colon[3] == ',' && (why = parse_options(colon + 4, out)) != NULL)
			return why;
		*colon = '\0';
		colon = strrchr(spec, ':');
	}
	if (colon == NULL)
		return "is not HOST:GUEST[:ro|rw[,max-size=SIZE]]";
	*colon = '\0';
	out->host_path = spec;
	out->guest_path = colon + 1;
	if (spec[0] == '\0')
		return "has an empty HOST directory";
	if (out->guest_path[0] != '/')
		return "needs an absolute GUEST path (and a mode of ro or rw)";
	if (!mount_spec_guest_path_ok(out->guest_path))
		return "needs a normalized GUEST path other than / (no //, . or ..)";
	return NULL;
}
