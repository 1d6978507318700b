/* SPDX-License-Identifier: MIT */
#include "exec_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A clean default, not the host's environment: the guest is another
 * machine, and host variables (paths, tokens) have no business there.
 * TERM is the exception, so terminal programs draw correctly. */
static char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
};

static size_t name_length(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* --env K=V replaces a default K. */
static void set_var(struct exec_env *env, char *kv)
{
	size_t n = name_length(kv);

	for (int i = 0; i < env->program.envc; i++) {
		if (name_length(env->envp[i]) == n && strncmp(env->envp[i], kv, n) == 0) {
			env->envp[i] = kv;
			return;
		}
	}
	env->envp[env->program.envc++] = kv;
}

static void terminal_state(struct exec_env *env)
{
	struct winsize ws;
	const char *term = getenv("TERM");

	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			env->program.tty_mask |= 1u << fd;
	if (env->program.tty_mask == 0)
		return;
	for (int fd = 0; fd < 3; fd++) {
		if ((env->program.tty_mask & (1u << fd)) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
			env->program.rows = ws.ws_row;
			env->program.cols = ws.ws_col;
			break;
		}
	}
	if (term != NULL &&
	    snprintf(env->term, sizeof(env->term), "TERM=%s", term) < (int)sizeof(env->term))
		set_var(env, env->term);
}

void exec_env_build(const struct cli_options *opts, struct exec_env *env)
{
	memset(env, 0, sizeof(*env));
	env->program.argv = opts->exec_argv;
	env->program.argc = opts->exec_argc;
	env->program.exec_path = opts->exec_path;
	env->program.envp = env->envp;
	env->program.cwd = opts->cwd ? opts->cwd : "/";
	env->program.strace = opts->strace;
	for (size_t i = 0; i < sizeof(default_env) / sizeof(default_env[0]); i++)
		set_var(env, default_env[i]);
	terminal_state(env);
	for (unsigned int i = 0; i < opts->nr_env; i++)
		set_var(env, opts->env[i]);
}
