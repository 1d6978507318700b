/* SPDX-License-Identifier: MIT */
/* --mount HOST:GUEST[:ro|rw] parsing: the split, the default mode and the
 * guest paths that are refused. */
#include <stdbool.h>
#include <stdio.h>

#include "check.h"
#include "mount_spec.h"

static void expect(const char *arg, const char *host, const char *guest, bool readonly)
{
	char spec[256];
	struct guest_mount m;
	const char *why;

	snprintf(spec, sizeof(spec), "%s", arg);
	why = mount_spec_parse(spec, &m);
	if (why != NULL)
		fprintf(stderr, "mount_spec_parse(\"%s\"): %s\n", arg, why);
	CHECK(why == NULL);
	if (why != NULL)
		return;
	CHECK(strcmp(m.host_path, host) == 0);
	CHECK(strcmp(m.guest_path, guest) == 0);
	CHECK(m.readonly == readonly);
}

static void reject(const char *arg)
{
	char spec[256];
	struct guest_mount m;

	snprintf(spec, sizeof(spec), "%s", arg);
	if (mount_spec_parse(spec, &m) == NULL) {
		fprintf(stderr, "mount_spec_parse accepted \"%s\"\n", arg);
		check_failures++;
	}
}

int main(void)
{
	expect("/srv/data:/data", "/srv/data", "/data", false);
	expect("/srv/data:/data:rw", "/srv/data", "/data", false);
	expect("/srv/data:/data:ro", "/srv/data", "/data", true);
	expect("rel/dir:/a/b/c:ro", "rel/dir", "/a/b/c", true);
	expect(".:/work", ".", "/work", false);
	/* HOST may hold ':'; GUEST is after the last one. */
	expect("/odd:name:/data:ro", "/odd:name", "/data", true);
	expect("/h:/...", "/h", "/...", false);
	expect("/h:/.hidden/x", "/h", "/.hidden/x", false);
	/* A GUEST named "ro" is not a mode. */
	expect("/h:/ro", "/h", "/ro", false);

	reject("/srv/data");
	reject("/srv/data:ro");
	reject(":/data");
	reject(":/data:ro");
	reject("/h:data");
	reject("/h:");
	reject("/h::ro");
	reject("/h:/");
	reject("/h:/:rw");
	reject("/h:/data:rx");
	reject("/h:/data:");
	reject("/h://data");
	reject("/h:/data/");
	reject("/h:/a//b");
	reject("/h:/a/./b");
	reject("/h:/a/../b");
	reject("/h:/..");
	reject("/h:/.");
	reject("");

	CHECK(mount_spec_guest_path_ok("/a"));
	CHECK(!mount_spec_guest_path_ok("a"));
	CHECK(!mount_spec_guest_path_ok(""));
	return check_result("mount_spec");
}
