/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "ldd_deps.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "spawn_capture.h"

extern char **environ;

void ldd_deps_free(struct ldd_deps *deps)
{
	for (size_t i = 0; i < deps->count; i++)
		free(deps->paths[i]);
	free(deps->paths);
	deps->paths = NULL;
	deps->count = 0;
}

static int add_path(struct ldd_deps *deps, const char *path, size_t len, struct image_error *e)
{
	char **grown = realloc(deps->paths, (deps->count + 1) * sizeof(*grown));

	if (grown == NULL)
		return image_fail(e, "out of memory");
	deps->paths = grown;
	deps->paths[deps->count] = strndup(path, len);
	if (deps->paths[deps->count] == NULL)
		return image_fail(e, "out of memory");
	deps->count++;
	return 0;
}

/* One line of ldd's listing:
 *	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f...)
 *	/lib64/ld-linux-x86-64.so.2 (0x00007f...)	the interpreter
 *	linux-vdso.so.1 (0x00007f...)			in the kernel, no file
 *	libfoo.so.1 => not found */
static int parse_line(const char *binary, const char *line, size_t len, struct ldd_deps *deps,
		      struct image_error *e)
{
	const char *end = line + len;
	const char *name = line + strspn(line, " \t");
	const char *arrow = memmem(line, len, "=> ", 3);
	const char *path = arrow ? arrow + 3 : name;
	const char *addr = memmem(path, (size_t)(end - path), " (", 2);

	if (arrow != NULL && strncmp(path, "not found", 9) == 0)
		return image_fail(e, "%s: ldd: %.*s not found", binary, (int)strcspn(name, " \t"),
				  name);
	if (path >= end || path[0] != '/')
		return 0;
	return add_path(deps, path, (size_t)((addr ? addr : end) - path), e);
}

int ldd_deps_parse(const char *binary, const char *output, struct ldd_deps *deps,
		   struct image_error *e)
{
	memset(deps, 0, sizeof(*deps));
	for (const char *line = output; *line != '\0';) {
		size_t len = strcspn(line, "\n");

		if (parse_line(binary, line, len, deps, e) < 0) {
			ldd_deps_free(deps);
			return -1;
		}
		line += len + (line[len] == '\n');
	}
	return 0;
}

/* ldd's own messages are translated; its "not a dynamic executable" is
 * only recognisable in the C locale. */
static char **c_locale_environ(void)
{
	size_t n = 0, kept = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "LC_ALL=", 7) != 0 &&
		    strncmp(environ[i], "LANGUAGE=", 9) != 0)
			env[kept++] = environ[i];
	}
	env[kept] = "LC_ALL=C";
	return env;
}

static int ldd_failed(const char *binary, const struct spawn_capture *run, struct image_error *e)
{
	char status[64], line[256];

	spawn_status_text(run->status, status, sizeof(status));
	if (!text_last_line(run->err, "", line, sizeof(line)))
		text_last_line(run->out, "", line, sizeof(line));
	return image_fail(e, "%s: ldd failed (%s): %s", binary, status, line + strspn(line, " \t"));
}

int ldd_deps_list(const char *binary, struct ldd_deps *deps, struct image_error *e)
{
	char *argv[] = {"ldd", "--", (char *)binary, NULL};
	struct spawn_capture run;
	char **env = c_locale_environ();
	int rc;

	memset(deps, 0, sizeof(*deps));
	if (env == NULL)
		return image_fail(e, "out of memory");
	rc = spawn_capture_run(argv, env, &run);
	free(env);
	if (rc == ENOENT)
		return image_fail(e, "--ldd %s: ldd not found (install libc-bin)", binary);
	if (rc != 0)
		return image_fail(e, "--ldd %s: running ldd: %s", binary, strerror(rc));
	if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0)
		rc = ldd_deps_parse(binary, run.out, deps, e);
	else if (strstr(run.err, "not a dynamic executable") != NULL)
		rc = 0;
	else
		rc = ldd_failed(binary, &run, e);
	spawn_capture_free(&run);
	return rc;
}
