/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "mkfs_erofs.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "spawn_capture.h"

/* Options, each for a reason:
 * -E noinline_data   every regular file's data starts on its own 4 KiB
 *                    block and is contiguous (no tail packed next to the
 *                    inode), so the guest can map image pages straight
 *                    into a program; no -z, so nothing is compressed.
 * --preserve-mtime   the files' real mtimes (erofs-utils 1.5's default,
 *                    said explicitly), not -T: programs compare them, e.g.
 *                    ASDF recompiles a .fasl that looks older than its
 *                    .lisp, and identical stamps would hide real changes.
 *                    The cost is images that differ from build to build.
 * --all-root         owners as on a Debian system, not the builder's uid.
 * -x-1               no xattrs: the guest reads none, and the staged copies
 *                    would only carry labels the staging file system adds.
 * --quiet            progress goes nowhere anyway. */
int mkfs_erofs_run(const char *image_path, const char *root_dir, struct image_error *e)
{
	char *argv[] = {
		"mkfs.erofs",	    "--quiet",	  "-E",	  "noinline_data",
		"--preserve-mtime", "--all-root", "-x-1", (char *)image_path,
		(char *)root_dir,   NULL,
	};
	struct spawn_capture run;
	char status[64], line[256];
	int rc;

	rc = spawn_capture_run(argv, NULL, &run);
	if (rc == ENOENT)
		return image_fail(e, "mkfs.erofs not found: install erofs-utils");
	if (rc != 0)
		return image_fail(e, "running mkfs.erofs: %s", strerror(rc));
	if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) {
		spawn_capture_free(&run);
		return 0;
	}
	/* erofs-utils marks errors "<E> "; after some it prints its usage,
	 * whose last line says nothing about what went wrong. */
	if (!text_last_line(run.err, "<E> ", line, sizeof(line)))
		text_last_line(run.err, "", line, sizeof(line));
	spawn_status_text(run.status, status, sizeof(status));
	spawn_capture_free(&run);
	return image_fail(e, "mkfs.erofs failed (%s)%s%s", status, line[0] ? ": " : "", line);
}
