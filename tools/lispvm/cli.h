/* SPDX-License-Identifier: MIT */
/* The lispvm command line. */
#ifndef LISPVM_TOOLS_CLI_H
#define LISPVM_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_params.h"
#include "jail.h"
#include "default_memory.h"

#define CLI_DEFAULT_MEMORY LISPVM_DEFAULT_MEMORY
#define CLI_MAX_TIMEOUT	   86400
#define CLI_MIN_CID	   3u
#define CLI_MAX_CID	   0xfffffffeu

enum cli_command {
	CLI_NONE,
	CLI_HELP,
	CLI_VERSION,
	CLI_BOOT,
	CLI_RUN,
	CLI_EVAL,
	CLI_REPL,
	CLI_EXEC,
	CLI_IMAGE,
	CLI_IMAGE_CORE, /* image build --core CORE */
	CLI_ATTACH,
	CLI_MACHINE,  /* machine status|start|stop */
	CLI_BINFMT,   /* binfmt install|uninstall|status */
	CLI_PREPARE,  /* prepare -o FILE: a snapshot to start programs from */
	CLI_SNAPSHOT, /* snapshot [VM] -o FILE [--stop]: of a running VM */
	CLI_GC,	      /* gc [VM]: a full garbage collection in a running VM */
};

#define CLI_MAX_IMAGES	      8
#define CLI_MAX_ENV	      256
#define CLI_MAX_MOUNTS	      GUEST_MAX_MOUNTS
#define CLI_MAX_SBCL_OPTIONS  32
#define CLI_MAX_PREPARE_STEPS 64

struct cli_options {
	enum cli_command command;
	uint64_t memory_size;
	bool memory_given; /* --memory was on the command line */
	bool verbose;
	struct jail_options jail;     /* --jail, --jail-user */
	bool seccomp_log;	      /* --seccomp-log: the VMM's filters log, not stop */
	const char *kernel_path;      /* NULL: the default */
	const char *append;	      /* extra guest command line, or NULL */
	unsigned int timeout_seconds; /* 0: none */
	bool stats;		      /* --stats */
	const char *vsock_path;	      /* --vsock PATH, or NULL */
	uint32_t guest_cid;	      /* --cid */
	/* run, eval, repl */
	const char *lisp_file; /* run's PROGRAM */
	char **lisp_args;      /* its arguments */
	int lisp_argc;
	const char *eval_form;
	const char *sbcl_options[CLI_MAX_SBCL_OPTIONS]; /* --sbcl-option, in order */
	unsigned int nr_sbcl_options;
	const char *cache_dir; /* --cache DIR; NULL: the default */
	const char *core_path; /* --core CORE; NULL: SBCL's own */
	bool no_cache;
	bool attachable;	   /* --attachable */
	unsigned int swank_port;   /* --swank PORT; 0: none */
	const char *vm_name;	   /* --name */
	const char *attach_target; /* attach's VM, or NULL */
	const char *verb;	   /* the verb of machine or binfmt */
	bool agent_core;	   /* core_path is the agent's (lisp_run.c) */
	/* prepare: the snapshot to write, and its --load SYSTEM / --eval
	 * FORMS in order, as "load:SYSTEM" and "eval:FORMS" */
	const char *snapshot_out;
	const char *prepare_steps[CLI_MAX_PREPARE_STEPS];
	unsigned int nr_prepare_steps;
	const char *snapshot_in;   /* run/eval/repl --snapshot FILE */
	bool resume;		   /* run --snapshot FILE, no program: a running VM's */
	const char *pooled_socket; /* run --snapshot FILE --pooled SOCKET */
	bool snapshot_stop;	   /* snapshot --stop */
	bool snapshot_gc;	   /* snapshot --gc */
	const char *snapshot_base; /* snapshot --diff BASE */
	/* run/eval/repl --snapshot with --record-working-set WS or --prefetch WS */
	const char *working_set_out, *prefetch_path;
	/* exec (and, filled in by lisp_run.c, run/eval/repl) */
	const char *images[CLI_MAX_IMAGES];
	unsigned int nr_images;
	char *env[CLI_MAX_ENV]; /* K=V from --env, in order */
	unsigned int nr_env;
	struct guest_mount mounts[CLI_MAX_MOUNTS]; /* --mount, in order */
	unsigned int nr_mounts;
	const char *cwd; /* NULL: "/" */
	bool strace;
	char **exec_argv; /* the program and its arguments */
	int exec_argc;
	const char *exec_path; /* the file to run when argv[0] is not its path */
	/* image: its own argv (argv[0] = "image") */
	char **image_argv;
	int image_argc;
};

/* Whether a --mount (or a mount lisp_run.c added) is at guest_path. */
bool cli_mounted_at(const struct cli_options *opts, const char *guest_path);

/* Parses argv.  Returns 0, or -1 after printing a one-line error (the
 * caller exits with LISPVM_EXIT_USAGE). */
int cli_parse(int argc, char **argv, struct cli_options *out);

void cli_print_help(void);

#endif
