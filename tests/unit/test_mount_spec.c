/* SPDX-License-Identifier: MIT */
/* --mount HOST:GUEST[:ro|rw[,max-size=SIZE]] parsing: the split, the
 * default mode, the size cap and the guest paths that are refused. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "mount_spec.h"

static void expect_capped(const char *arg, const char *host, const char *guest, bool readonly,
			  uint64_t max_size)
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
	CHECK(m.max_size == max_size);
}

static void expect(const char *arg, const char *host, const char *guest, bool readonly)
{
	expect_capped(arg, host, guest, readonly, 0);
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

	/* A size cap on a rw mount, in the sizes the other options take. */
	expect_capped("/srv/data:/data:rw,max-size=1M", "/srv/data", "/data", false, 1 << 20);
	expect_capped("/srv/data:/data:rw,max-size=64k", "/srv/data", "/data", false, 64 << 10);
	expect_capped("/h:/d:rw,max-size=2GiB", "/h", "/d", false, 2ULL << 30);
	expect_capped("/h:/d:rw,max-size=4096", "/h", "/d", false, 4096);
	expect_capped("/odd:rw,x:/d:rw,max-size=1G", "/odd:rw,x", "/d", false, 1ULL << 30);

	reject("/h:/d:ro,max-size=1M"); /* nothing to cap */
	reject("/h:/d:rw,max-size=");
	reject("/h:/d:rw,max-size=0");
	reject("/h:/d:rw,max-size=-1");
	reject("/h:/d:rw,max-size=1X");
	reject("/h:/d:rw,max-size=1M ");
	reject("/h:/d:rw,max-size=8388608T");		  /* 2^63: past what the counters hold */
	reject("/h:/d:rw,max-size=99999999999999999999"); /* past 64 bits */
	reject("/h:/d:rw,max-size=1M,max-size=2M");
	reject("/h:/d:rw,max-files=10");
	reject("/h:/d:rw,maxsize=1M");
	reject("/h:/d:rw,");
	reject("/h:/d:rw,,max-size=1M");
	reject("/h:/d:rw,max-size=1M,");
	reject("/h:/d:max-size=1M"); /* the mode comes first */
	reject("/h:/d:rx,max-size=1M");

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
