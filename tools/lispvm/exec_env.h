/* SPDX-License-Identifier: MIT */
/* The program lispvm exec starts: its arguments, environment, working
 * directory and what its standard streams are. */
#ifndef LISPVM_TOOLS_EXEC_ENV_H
#define LISPVM_TOOLS_EXEC_ENV_H

#include "cli.h"
#include "guest_params.h"

#define EXEC_ENV_MAX (CLI_MAX_ENV + 8)

struct exec_env {
	struct guest_program program;
	char *envp[EXEC_ENV_MAX];
	char term[256];
};

/* Fills env from the options and lispvm's own terminal state. */
void exec_env_build(const struct cli_options *opts, struct exec_env *env);

#endif
