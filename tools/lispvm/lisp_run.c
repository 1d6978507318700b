/* SPDX-License-Identifier: MIT */
#include "lisp_run.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent.h"
#include "embedded_file.h"
#include "helper_machine.h"
#include "sbcl_image.h"
#include "vm_socket.h"

/* A missing program file, as exec's missing program. */
#define EXIT_NO_PROGRAM 127

/* What lispvm eval runs: read the forms from the last argument (so no
 * quoting is needed) and print every value of each, one per line. */
static const char eval_printer[] =
	"(with-input-from-string (s (car (last sb-ext:*posix-argv*)))"
	" (loop with eof = (gensym) for form = (read s nil eof) until (eq form eof)"
	" do (dolist (v (multiple-value-list (eval form))) (prin1 v) (terpri))))";

static int fail(int status, const char *what, const char *detail)
{
	fprintf(stderr, "lispvm: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return status;
}

static char *must_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL) {
		fputs("lispvm: out of memory\n", stderr);
		exit(LISPVM_EXIT_HOST_ERROR);
	}
	return copy;
}

/* HOST at the same path in the guest, unless something is mounted there
 * already (the user's --mount wins) or it is / (which cannot be). */
static int add_mount(struct cli_options *opts, const char *host, const char *guest, bool readonly)
{
	if (strcmp(guest, "/") == 0 || cli_mounted_at(opts, guest))
		return 0;
	if (opts->nr_mounts == CLI_MAX_MOUNTS)
		return fail(LISPVM_EXIT_USAGE, "too many --mount directories for a Lisp run",
			    "at most 5 besides the program's own");
	opts->mounts[opts->nr_mounts++] = (struct guest_mount){.host_path = must_strdup(host),
							       .guest_path = must_strdup(guest),
							       .readonly = readonly};
	return 0;
}

static bool is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* The program, made absolute and symlink-free, must be a readable file. */
static int resolve_program(const char *file, char *abs)
{
	struct stat st;

	if (realpath(file, abs) == NULL)
		return fail(EXIT_NO_PROGRAM, file, strerror(errno));
	if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(EXIT_NO_PROGRAM, file, "not a regular file");
	if (access(abs, R_OK) < 0)
		return fail(EXIT_NO_PROGRAM, file, strerror(errno));
	return 0;
}

/* The guest's HOME: the --env HOME, else the exec default. */
static const char *guest_home(const struct cli_options *opts)
{
	const char *home = "/root";

	for (unsigned int i = 0; i < opts->nr_env; i++)
		if (strncmp(opts->env[i], "HOME=", 5) == 0 && opts->env[i][5] == '/')
			home = opts->env[i] + 5;
	return home;
}

static int mount_caches(struct cli_options *opts, const char *cache_dir)
{
	char host[PATH_MAX], made[PATH_MAX], guest[PATH_MAX];
	char err[512];

	if (opts->no_cache)
		return 0;
	if ((size_t)snprintf(host, sizeof(host), "%s/common-lisp", cache_dir) >= sizeof(host) ||
	    (size_t)snprintf(guest, sizeof(guest), "%s/.cache/common-lisp", guest_home(opts)) >=
		    sizeof(guest))
		return fail(LISPVM_EXIT_USAGE, "--cache", "path too long");
	if (lisp_cache_dir(host, made, sizeof(made), err, sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, "--cache", err);
	return add_mount(opts, made, guest, false);
}

/* A directory of the user's at its own path, read-only, except /tmp:
 * mounted there it would hide the guest's own /tmp, so a program that
 * lives in /tmp (or runs there) gets the host's /tmp read-write, as it
 * would natively. */
static int add_user_dir(struct cli_options *opts, const char *dir)
{
	return add_mount(opts, dir, dir, strcmp(dir, "/tmp") != 0);
}

/* The program's directory, and the working directory where the program
 * can reach it as natively (the guest's cwd is the host's). */
static int mount_program_and_cwd(struct cli_options *opts, const char *program_dir)
{
	static char cwd[PATH_MAX];
	int rc;

	if (program_dir != NULL && (rc = add_user_dir(opts, program_dir)) != 0)
		return rc;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return fail(LISPVM_EXIT_HOST_ERROR, "cannot get the working directory",
			    strerror(errno));
	if ((program_dir == NULL || !is_below(cwd, program_dir)) &&
	    (rc = add_user_dir(opts, cwd)) != 0)
		return rc;
	opts->cwd = cwd;
	return 0;
}

/* SBCL's own default (Debian's build reserves 1 GiB of heap). */
#define SBCL_DEFAULT_HEAP_MIB 1024
/* Guest memory SBCL needs beyond its heap, measured with --stats: the
 * guest kernel, the core's written pages, C stacks, the GC's tables, the
 * freed-page reserve; plus a sixteenth of RAM for page tables and slack. */
#define HEAP_RESERVE_MIB 48

static bool has_sbcl_option(const struct cli_options *opts, const char *name)
{
	for (unsigned int i = 0; i < opts->nr_sbcl_options; i++)
		if (strncmp(opts->sbcl_options[i], name, strlen(name)) == 0)
			return true;
	return false;
}

/* A heap that fits in --memory, so a program that outgrows it gets SBCL's
 * own HEAP-EXHAUSTED-ERROR (which it can handle) and not the guest's
 * out-of-memory kill.  Only ever smaller than SBCL's default. */
static const char *fitting_heap_size(const struct cli_options *opts)
{
	static char size[32];
	uint64_t mib = opts->memory_size >> 20, heap;

	if (has_sbcl_option(opts, "--dynamic-space-size"))
		return NULL;
	heap = mib > HEAP_RESERVE_MIB + mib / 16 ? mib - HEAP_RESERVE_MIB - mib / 16 : 0;
	if (heap >= SBCL_DEFAULT_HEAP_MIB)
		return NULL;
	snprintf(size, sizeof(size), "%" PRIu64 "MB", heap < 32 ? 32 : heap);
	return size;
}

/* The image of the core file core_arg, built if need be: its path into
 * image and the core's path in the guest into guest_core (PATH_MAX
 * each).  0, or an exit status after one line. */
static int core_image(const char *cache_dir, const char *core_arg, char *guest_core, char *image)
{
	char err[1024], host_core[PATH_MAX];

	if (realpath(core_arg, host_core) == NULL)
		return fail(LISPVM_EXIT_HOST_ERROR, core_arg, strerror(errno));
	if (sbcl_core_image_ensure(cache_dir, host_core, guest_core, PATH_MAX, image, PATH_MAX, err,
				   sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, err, NULL);
	return 0;
}

/* The --core file's own image, ahead of SBCL's; core gets the path where
 * the guest sees it. */
static int add_core_image(struct cli_options *opts, const char *cache_dir, char *core, char *image)
{
	int rc = core_image(cache_dir, opts->core_path, core, image);

	if (rc != 0)
		return rc;
	if (opts->nr_images == CLI_MAX_IMAGES)
		return fail(LISPVM_EXIT_USAGE, "--image",
			    "at most 6 besides SBCL's and the core's");
	opts->images[opts->nr_images++] = image;
	return 0;
}

/* What lispvm prepare runs: the snapshot driver, loaded from the argument
 * after --end-toplevel-options (no quoting), then the steps, which the
 * driver takes from *posix-argv* after itself.  The driver knows the
 * --eval form (*prepare-form*): a restored VM given it prepares again. */
static int prepare_options(const struct cli_options *opts, char **argv)
{
	static char *const options[] = {
		"--noinform",
		"--disable-ldb",
		"--lose-on-corruption",
		"--end-runtime-options",
		"--no-sysinit",
		"--no-userinit",
		"--disable-debugger",
		"--eval",
		"(load (make-string-input-stream (second sb-ext:*posix-argv*)))",
		"--end-toplevel-options"};
	int n = 0;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		argv[n++] = options[i];
	argv[n++] = (char *)snapshot_driver_sources[0].text;
	for (unsigned int i = 0; i < opts->nr_prepare_steps; i++)
		argv[n++] = (char *)opts->prepare_steps[i];
	return n;
}

/* --stats: SBCL tells the guest of each collection's end (a write to
 * /dev/lispvm-gc), so the dirty-page figures have a GC cycle's count. */
static char gc_hook[] =
	"(let ((fd (sb-unix:unix-open \"/dev/lispvm-gc\" sb-unix:o_wronly 0)) "
	"(byte (make-array 1 :element-type '(unsigned-byte 8)))) "
	"(when fd (push (lambda () (sb-unix:unix-write fd byte 0 1)) sb-ext:*after-gc-hooks*)))";

/* Not in a VM restored from a snapshot: its SBCL started long ago. */
static bool wants_gc_hook(const struct cli_options *opts)
{
	return opts->stats && opts->snapshot_in == NULL;
}

/* sbcl, --core, a heap size that fits, the --sbcl-option options, then
 * the command's own. */
static void build_argv(struct cli_options *opts, const char *program, const char *core)
{
	size_t max = 5 + opts->nr_sbcl_options + 16 + AGENT_MAX_OPTIONS + (size_t)opts->lisp_argc +
		     opts->nr_prepare_steps;
	char **argv = calloc(max + 1, sizeof(char *));
	const char *heap = fitting_heap_size(opts);
	int n = 0;

	if (argv == NULL)
		exit(fail(LISPVM_EXIT_HOST_ERROR, "out of memory", NULL));
	argv[n++] = "sbcl";
	if (opts->attachable || opts->swank_port ||
	    (wants_gc_hook(opts) && opts->command == CLI_RUN)) {
		/* What --script says as a runtime option; it comes after the
		 * agent's --eval here, where it is a toplevel option only. */
		argv[n++] = "--noinform";
		argv[n++] = "--disable-ldb";
		argv[n++] = "--lose-on-corruption";
	}
	if (core != NULL) {
		argv[n++] = "--core";
		argv[n++] = (char *)core;
	}
	if (heap != NULL) {
		argv[n++] = "--dynamic-space-size";
		argv[n++] = (char *)heap;
	}
	for (unsigned int i = 0; i < opts->nr_sbcl_options; i++)
		argv[n++] = (char *)opts->sbcl_options[i];
	if (opts->command == CLI_RUN) {
		if (opts->attachable || opts->swank_port != 0)
			n += agent_sbcl_options(opts->attachable, opts->swank_port != 0,
						opts->agent_core, argv + n);
		if (wants_gc_hook(opts)) {
			argv[n++] = "--eval";
			argv[n++] = gc_hook;
		}
		argv[n++] = "--script";
		argv[n++] = (char *)program;
		for (int i = 0; i < opts->lisp_argc; i++)
			argv[n++] = opts->lisp_args[i];
	} else if (opts->command == CLI_EVAL) {
		static char *const eval_argv[] = {
			"--noinform",	"--disable-ldb",      "--end-runtime-options",
			"--no-sysinit", "--no-userinit",      "--non-interactive",
			"--eval",	(char *)eval_printer, "--end-toplevel-options"};

		for (size_t i = 0; i < sizeof(eval_argv) / sizeof(eval_argv[0]); i++) {
			if (wants_gc_hook(opts) && strcmp(eval_argv[i], "--eval") == 0) {
				argv[n++] = "--eval";
				argv[n++] = gc_hook;
			}
			argv[n++] = eval_argv[i];
		}
		argv[n++] = (char *)opts->eval_form;
	} else if (opts->command == CLI_PREPARE) {
		n += prepare_options(opts, argv + n);
	} else if (opts->command == CLI_REPL && wants_gc_hook(opts)) {
		argv[n++] = "--eval";
		argv[n++] = gc_hook;
	}
	opts->exec_argv = argv;
	opts->exec_argc = n;
	opts->exec_path = SBCL_BINARY;
}

/* The VM's vsock socket in the runtime directory, by --name or lispvm's
 * pid, unless --vsock says where. */
static int choose_vm_socket(struct cli_options *opts)
{
	static char socket_path[108];
	const char *name = opts->vm_name ? opts->vm_name : helper_machine_vm_name();
	char err[1024], pid[32];

	if (opts->vsock_path != NULL)
		return 0;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (vm_socket_path(name ? name : pid, socket_path, sizeof(socket_path), err, sizeof(err)) <
	    0)
		return fail(LISPVM_EXIT_HOST_ERROR, err, NULL);
	opts->vsock_path = socket_path;
	return 0;
}

int lisp_run_resume_prepare(struct cli_options *opts)
{
	return choose_vm_socket(opts);
}

/* --attachable and --swank: a vsock device (at the VM's socket in the
 * runtime directory unless --vsock says where) and the agent: its core,
 * unless the user gave a --core, and its directory mounted read-only. */
static int prepare_agent(struct cli_options *opts, const char *cache_dir)
{
	static char agent_dir[PATH_MAX], agent_core[PATH_MAX + 16];
	char err[1024];
	int rc;

	if (!opts->attachable && opts->swank_port == 0)
		return 0;
	if (opts->command != CLI_RUN)
		return fail(LISPVM_EXIT_USAGE, "--attachable and --swank", "only with run");
	if ((rc = choose_vm_socket(opts)) != 0)
		return rc;
	if (agent_prepare(cache_dir, opts->swank_port != 0, agent_dir, sizeof(agent_dir), err,
			  sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, err, NULL);
	if (opts->core_path == NULL) {
		snprintf(agent_core, sizeof(agent_core), "%s/%s", agent_dir, AGENT_CORE_NAME);
		opts->core_path = agent_core;
		opts->agent_core = true;
	}
	return add_mount(opts, agent_dir, AGENT_GUEST_DIR, true);
}

int lisp_run_prepare(struct cli_options *opts)
{
	static char program[PATH_MAX], program_dir[PATH_MAX], cache_dir[PATH_MAX], image[PATH_MAX],
		core[PATH_MAX], core_image[PATH_MAX];
	char err[1024];
	int rc;

	if (opts->command == CLI_RUN) {
		if ((rc = resolve_program(opts->lisp_file, program)) != 0)
			return rc;
		snprintf(program_dir, sizeof(program_dir), "%s", program);
		*strrchr(program_dir, '/') = '\0';
		if (program_dir[0] == '\0')
			strcpy(program_dir, "/");
	}
	if (lisp_cache_dir(opts->cache_dir, cache_dir, sizeof(cache_dir), err, sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, "--cache", err);
	if ((rc = prepare_agent(opts, cache_dir)) != 0)
		return rc;
	if (opts->core_path != NULL &&
	    (rc = add_core_image(opts, cache_dir, core, core_image)) != 0)
		return rc;
	if (sbcl_image_ensure(cache_dir, image, sizeof(image), err, sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, err, NULL);
	if (opts->nr_images == CLI_MAX_IMAGES)
		return fail(LISPVM_EXIT_USAGE, "--image", "at most 7 besides SBCL's");
	opts->images[opts->nr_images++] = image;
	if ((rc = mount_program_and_cwd(opts, opts->command == CLI_RUN ? program_dir : NULL)) !=
		    0 ||
	    (rc = mount_caches(opts, cache_dir)) != 0)
		return rc;
	build_argv(opts, program, opts->core_path != NULL ? core : NULL);
	return 0;
}

int lisp_core_image_command(const char *cache_option, const char *core_arg)
{
	char cache_dir[PATH_MAX], guest_core[PATH_MAX], image[PATH_MAX], err[1024];
	int rc;

	if (lisp_cache_dir(cache_option, cache_dir, sizeof(cache_dir), err, sizeof(err)) < 0)
		return fail(LISPVM_EXIT_HOST_ERROR, "--cache", err);
	if ((rc = core_image(cache_dir, core_arg, guest_core, image)) != 0)
		return rc;
	printf("%s\n", image);
	return 0;
}
