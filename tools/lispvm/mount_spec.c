/* SPDX-License-Identifier: MIT */
#include "mount_spec.h"

#include <string.h>

#include <lispvm/abi.h>

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

const char *mount_spec_parse(char *spec, struct guest_mount *out)
{
	char *colon = strrchr(spec, ':');

	*out = (struct guest_mount){0};
	if (colon != NULL && (strcmp(colon + 1, "ro") == 0 || strcmp(colon + 1, "rw") == 0)) {
		out->readonly = colon[2] == 'o';
		*colon = '\0';
		colon = strrchr(spec, ':');
	}
	if (colon == NULL)
		return "is not HOST:GUEST[:ro|rw]";
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
