/* SPDX-License-Identifier: MIT */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embedded_file.h"
#include "content_cache.h"
#include "sbcl_image.h"
#include "spawn_capture.h"
#include "tree_remove.h"

/* Bump when how the agent is compiled or loaded changes. */
#define AGENT_RECIPE "lispvm-agent-1"
#define SWANK_LOADER LISP_LIBRARIES_DIR "/source/slime/swank-loader.lisp"

extern char **environ;

static uint64_t agent_key(uint64_t sbcl_key)
{
	uint64_t h = content_hash(CONTENT_HASH_INIT, AGENT_RECIPE, sizeof(AGENT_RECIPE));

	h = content_hash(h, &sbcl_key, sizeof(sbcl_key));
	for (unsigned int i = 0; i < agent_sources_count; i++) {
		h = content_hash(h, agent_sources[i].name, strlen(agent_sources[i].name) + 1);
		h = content_hash(h, agent_sources[i].text, strlen(agent_sources[i].text) + 1);
	}
	return h;
}

static int write_sources(const char *dir, char *err, size_t err_size)
{
	for (unsigned int i = 0; i < agent_sources_count; i++) {
		char path[PATH_MAX];
		FILE *f = NULL;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, agent_sources[i].name) <
		    sizeof(path))
			f = fopen(path, "w");
		if (f == NULL || fputs(agent_sources[i].text, f) < 0 || fclose(f) != 0) {
			snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The host's SBCL, the binary the guest runs, evaluates forms with the
 * cache as XDG_CACHE_HOME, so ASDF puts fasls where the guest's ASDF
 * looks (its ~/.cache is the cache's common-lisp directory).  The build
 * directory reaches the forms as LISPVM_AGENT_DIR, never inside them, so
 * no path can break (or inject into) the Lisp. */
static int run_host_sbcl(const char *cache_dir, const char *dir, const char *forms,
			 const char *what, char *err, size_t err_size)
{
	char xdg[PATH_MAX + 16], agent_dir[PATH_MAX + 24], status[64], last[200];
	char *argv[] = {SBCL_BINARY,	 "--noinform", "--non-interactive", "--no-sysinit",
			"--no-userinit", "--eval",     (char *)forms,	    NULL};
	struct spawn_capture res;
	size_t count = 3, n = 0;
	char **env;
	int rc;

	for (char **e = environ; *e; e++)
		count++;
	env = calloc(count, sizeof(*env));
	if (env == NULL) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	snprintf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s", cache_dir);
	snprintf(agent_dir, sizeof(agent_dir), "LISPVM_AGENT_DIR=%s/", dir);
	env[n++] = xdg;
	env[n++] = agent_dir;
	/* SBCL_HOME would point another SBCL's contribs at this one. */
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "XDG_CACHE_HOME=", 15) != 0 && strncmp(*e, "SBCL_HOME=", 10) != 0 &&
		    strncmp(*e, "LISPVM_AGENT_DIR=", 17) != 0)
			env[n++] = *e;
	env[n] = NULL;
	rc = spawn_capture_run(argv, env, &res);
	free(env);
	if (rc != 0) {
		snprintf(err, err_size, "cannot run the host's sbcl to compile %s: %s", what,
			 strerror(rc));
		return -1;
	}
	if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0) {
		spawn_capture_free(&res);
		return 0;
	}
	spawn_status_text(res.status, status, sizeof(status));
	if (!text_last_line(res.err, "", last, sizeof(last)))
		text_last_line(res.out, "", last, sizeof(last));
	snprintf(err, err_size, "compiling %s with the host's sbcl failed (%s): %s", what, status,
		 last);
	spawn_capture_free(&res);
	return -1;
}

/* The agent's fasls, and a core with them (and Swank, when Debian's
 * cl-swank is installed) already loaded, made in a fresh directory that
 * is renamed to `dir` once complete, so a VM never sees half of it. */
static int build(const char *cache_dir, const char *parent, const char *dir, char *err,
		 size_t err_size)
{
	char tmp[PATH_MAX], forms[2048];
	bool swank = access(SWANK_LOADER, R_OK) == 0;
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp-XXXXXX", parent) >= sizeof(tmp) ||
	    mkdtemp(tmp) == NULL) {
		snprintf(err, err_size, "cannot create a directory in %s: %s", parent,
			 strerror(errno));
		return -1;
	}
	/* ASDF's configuration (it saw the host's cache) is dropped before
	 * the save; the guest's ASDF works its own out. */
	snprintf(forms, sizeof(forms),
		 "(let ((dir (sb-ext:parse-native-namestring"
		 "            (sb-ext:posix-getenv \"LISPVM_AGENT_DIR\"))))"
		 " (flet ((compile-load (name)"
		 "          (load (compile-file (merge-pathnames name dir)))))"
		 "  (require :sb-bsd-sockets)"
		 "  (compile-load \"vsock.lisp\")"
		 "  (compile-load \"attach.lisp\")"
		 "  (when %s (require :asdf) (load \"%s\")"
		 "   (handler-bind ((warning (function muffle-warning)))"
		 "    (funcall (intern \"INIT\" \"SWANK-LOADER\") :load-contribs t :setup nil))"
		 "   (compile-load \"swank.lisp\")"
		 "   (funcall (intern \"CLEAR-CONFIGURATION\" \"ASDF\")))"
		 "  (sb-ext:save-lisp-and-die (merge-pathnames \"agent.core\" dir))))",
		 swank ? "t" : "nil", SWANK_LOADER);
	rc = write_sources(tmp, err, err_size);
	if (rc == 0)
		rc = run_host_sbcl(cache_dir, tmp, forms, "the attach agent", err, err_size);
	if (rc == 0 && rename(tmp, dir) < 0 && errno != ENOTEMPTY && errno != EEXIST) {
		snprintf(err, err_size, "cannot rename %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	tree_remove(tmp); /* gone already when the rename worked */
	return rc;
}

/* Agents compiled for other texts or SBCL installs: every directory of
 * parent named like a key, but keep. */
static void remove_stale(const char *parent, const char *keep)
{
	const char *keep_name = strrchr(keep, '/') + 1;
	DIR *d = opendir(parent);
	struct dirent *e;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) == 16 && strspn(e->d_name, "0123456789abcdef") == 16 &&
		    strcmp(e->d_name, keep_name) != 0 &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) < sizeof(path))
			tree_remove(path);
	closedir(d);
}

int agent_prepare(const char *cache_dir, bool swank, char *dir, size_t size, char *err,
		  size_t err_size)
{
	char parent[PATH_MAX], made[PATH_MAX], probe[PATH_MAX + 16];
	uint64_t sbcl_key;

	if (swank && access(SWANK_LOADER, R_OK) < 0) {
		snprintf(err, err_size,
			 "--swank needs Debian's cl-swank (%s: %s; apt-get install cl-swank, or "
			 "tools/setup)",
			 SWANK_LOADER, strerror(errno));
		return -1;
	}
	if (sbcl_identity_key(&sbcl_key, err, err_size) < 0)
		return -1;
	if ((size_t)snprintf(parent, sizeof(parent), "%s/agent", cache_dir) >= sizeof(parent) ||
	    lisp_cache_dir(parent, made, sizeof(made), err, err_size) < 0)
		return -1;
	if ((size_t)snprintf(dir, size, "%s/%016" PRIx64, made, agent_key(sbcl_key)) >= size) {
		snprintf(err, err_size, "cache directory path too long");
		return -1;
	}
	snprintf(probe, sizeof(probe), "%s/agent.core", dir);
	if (access(probe, R_OK) == 0)
		return 0;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "lispvm: compiling the attach agent into %s (once)\n", dir);
	if (build(cache_dir, made, dir, err, err_size) < 0)
		return -1;
	remove_stale(made, dir);
	return 0;
}

int agent_sbcl_options(bool attach, bool swank, bool from_core, char **argv)
{
	static char start_attach[64], start_swank[64];
	static const char load_vsock[] =
		"(progn (require :sb-bsd-sockets) (load \"" AGENT_GUEST_DIR "/vsock.fasl\"))";
	static const char load_attach[] = "(load \"" AGENT_GUEST_DIR "/attach.fasl\")";
	/* Without the agent's core (the user gave --core): Swank through
	 * its loader, which compiles it in the guest the first time. */
	static const char load_swank[] =
		"(progn (require :asdf) (load \"" SWANK_LOADER "\")"
		" (handler-bind ((warning (function muffle-warning)))"
		"  (funcall (intern \"INIT\" \"SWANK-LOADER\") :load-contribs t :setup nil))"
		" (load \"" AGENT_GUEST_DIR "/swank.fasl\"))";
	int n = 0;

	snprintf(start_attach, sizeof(start_attach), "(lispvm-attach:start :port %d)",
		 AGENT_ATTACH_PORT);
	snprintf(start_swank, sizeof(start_swank), "(lispvm-swank:start %d)", AGENT_SWANK_PORT);
	if (!from_core) {
		argv[n++] = "--eval";
		argv[n++] = (char *)load_vsock;
		argv[n++] = "--eval";
		argv[n++] = (char *)load_attach;
		if (swank) {
			argv[n++] = "--eval";
			argv[n++] = (char *)load_swank;
		}
	}
	if (attach) {
		argv[n++] = "--eval";
		argv[n++] = start_attach;
	}
	if (swank) {
		argv[n++] = "--eval";
		argv[n++] = start_swank;
	}
	return n;
}
