/* SPDX-License-Identifier: MIT */
/* The lispvm command line. */
#ifndef LISPVM_TOOLS_CLI_H
#define LISPVM_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_params.h"

#define CLI_DEFAULT_MEMORY (2ULL << 30)
#define CLI_MAX_TIMEOUT	   86400

enum cli_command {
	CLI_NONE,
	CLI_HELP,
	CLI_VERSION,
	CLI_RUN,
	CLI_EXEC,
	CLI_IMAGE,
};

#define CLI_MAX_IMAGES 8
#define CLI_MAX_ENV    256
#define CLI_MAX_MOUNTS GUEST_MAX_MOUNTS

struct cli_options {
	enum cli_command command;
	uint64_t memory_size;
	bool verbose;
	const char *kernel_path;      /* NULL: the default */
	const char *append;	      /* extra guest command line, or NULL */
	unsigned int timeout_seconds; /* 0: none */
	const char *program;	      /* run's PROGRAM, or NULL */
	/* exec */
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
	/* image: its own argv (argv[0] = "image") */
	char **image_argv;
	int image_argc;
};

/* Parses argv.  Returns 0, or -1 after printing a one-line error (the
 * caller exits with LISPVM_EXIT_USAGE). */
int cli_parse(int argc, char **argv, struct cli_options *out);

void cli_print_help(void);

#endif
