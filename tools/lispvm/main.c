/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "agent.h"
#include "agent_gc.h"
#include "attach.h"
#include "daemon_attach.h"
#include "binfmt.h"
#include "cli.h"
#include "exec_env.h"
#include "daemon_commands.h"
#include "helper_machine.h"
#include "image_command.h"
#include "jail.h"
#include "lisp_run.h"
#include "lispvm_config.h"
#include "pooled_vm.h"
#include "sandbox.h"
#include "log.h"
#include "sbcl_image.h"
#include "snapshot_command.h"
#include "tcp_bridge.h"
#include "vm.h"
#include "vm_launch.h"

/* The VMM here, or in a jail of its own (--jail). */
static int run_vm(const struct cli_options *opts, const struct vm_config *config)
{
	return opts->jail.enabled ? jail_run(config, &opts->jail) : vm_run(config);
}

/* Boots a VM with the options common to every command. */
static int boot(const struct cli_options *opts, struct vm_config *config)
{
	static struct vm_launch_strings strings;
	int rc = vm_launch_machine(opts, config, &strings);

	if (rc != 0)
		return rc;
	vm_launch_signals();
	return run_vm(opts, config);
}

static int boot_command(const struct cli_options *opts)
{
	struct vm_config config = {.console_fd = STDOUT_FILENO,
				   .image_paths = opts->images,
				   .nr_images = opts->nr_images,
				   .mounts = opts->mounts,
				   .nr_mounts = opts->nr_mounts};

	return boot(opts, &config);
}

static int exec_command(const struct cli_options *opts)
{
	static struct exec_env env;
	static struct vm_launch_strings strings;
	struct vm_config config;
	int rc = vm_launch_program(opts, &env, &config, &strings);

	if (rc != 0)
		return rc;
	vm_launch_signals();
	return run_vm(opts, &config);
}

/* A running VM's snapshot has its program, images and mounts; the
 * console is this command's stdin and stdout. */
static int resume_command(const struct cli_options *opts)
{
	struct vm_config config = {.console_fd = STDERR_FILENO};

	return boot(opts, &config);
}

static int lisp_command(struct cli_options *opts)
{
	static struct tcp_bridge bridge;
	char err[512];
	int rc;

	if (opts->pooled_socket != NULL)
		return pooled_vm_command(opts);
	rc = opts->resume ? lisp_run_resume_prepare(opts) : lisp_run_prepare(opts);

	if (rc != 0)
		return rc;
	if (opts->swank_port != 0 && tcp_bridge_start(&bridge, opts->swank_port, opts->vsock_path,
						      AGENT_SWANK_PORT, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	return opts->resume ? resume_command(opts) : exec_command(opts);
}

/* Commands that need KVM run in the helper machine where there is none;
 * their arguments were checked here first, so usage errors stay local. */
static bool needs_kvm(enum cli_command command)
{
	return command == CLI_BOOT || command == CLI_RUN || command == CLI_EVAL ||
	       command == CLI_REPL || command == CLI_EXEC || command == CLI_PREPARE;
}

/* attach finds a VM on this host first, then through lispvmd (which may
 * run it for another user, or in its helper machine), then in this
 * user's running helper machine.  One the daemon runs for its caller
 * (LISPVM_ATTACH_DIRECT) looks here only, or it would come back. */
static int attach(char **argv, const struct cli_options *opts)
{
	const char *target = opts->attach_target;
	char err[1024];
	int fd;

	if (getenv("LISPVM_ATTACH_DIRECT") != NULL || attach_target_here(target))
		return attach_command(target);
	if (target != NULL && strchr(target, '/') == NULL) {
		switch (daemon_attach_open(target, &fd, err, sizeof(err))) {
		case 0:
			return attach_session(fd);
		case -1:
			fprintf(stderr, "lispvm: attach: %s\n", err);
			return LISPVM_EXIT_HOST_ERROR;
		}
	}
	if (machine_client_wanted())
		return helper_machine_forward(argv, opts, true);
	return attach_command(target);
}

/* snapshot finds its VM as attach does. */
static int snapshot(char **argv, const struct cli_options *opts)
{
	if (machine_client_wanted() && !attach_target_here(opts->attach_target))
		return helper_machine_forward(argv, opts, true);
	struct snapshot_request req = {.target = opts->attach_target,
				       .file = opts->snapshot_out,
				       .base = opts->snapshot_base,
				       .stop = opts->snapshot_stop,
				       .collect = opts->snapshot_gc};

	return snapshot_command(&req);
}

/* gc finds its VM as attach does. */
static int gc(char **argv, const struct cli_options *opts)
{
	if (machine_client_wanted() && !attach_target_here(opts->attach_target))
		return helper_machine_forward(argv, opts, true);
	return agent_gc_command(opts->attach_target);
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	char **original;

	/* The daemon's commands talk to lispvmd, wherever its VMs run. */
	if (argc > 1 && daemon_command_known(argv[1]))
		return daemon_command_main(argc - 1, argv + 1);
	original = calloc((size_t)argc + 1, sizeof(*original));
	/* getopt permutes argv; the helper machine gets it as given. */
	if (original == NULL)
		return LISPVM_EXIT_HOST_ERROR;
	memcpy(original, argv, (size_t)argc * sizeof(*argv));
	if (cli_parse(argc, argv, &opts) < 0)
		return LISPVM_EXIT_USAGE;
	log_verbose_enabled = opts.verbose;
	sandbox_set_log_only(opts.seccomp_log);
	if (needs_kvm(opts.command) && machine_client_wanted() && opts.pooled_socket != NULL) {
		log_error("run --pooled: this host has no /dev/kvm, and a pooled VM's socket "
			  "cannot reach into the helper machine");
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (needs_kvm(opts.command) && machine_client_wanted())
		return helper_machine_forward(original, &opts, false);
	opts.vsock_path = helper_machine_vsock_path(opts.vsock_path);
	switch (opts.command) {
	case CLI_HELP:
		cli_print_help();
		return 0;
	case CLI_VERSION:
		printf("lispvm %s (ABI %d)\n", LISPVM_VERSION, LISPVM_ABI_VERSION);
		return 0;
	case CLI_BOOT:
		return boot_command(&opts);
	case CLI_RUN:
	case CLI_EVAL:
	case CLI_REPL:
	case CLI_PREPARE:
		return lisp_command(&opts);
	case CLI_EXEC:
		return exec_command(&opts);
	case CLI_IMAGE:
		return image_command_main(opts.image_argc, opts.image_argv);
	case CLI_IMAGE_CORE:
		return lisp_core_image_command(opts.cache_dir, opts.core_path);
	case CLI_ATTACH:
		return attach(original, &opts);
	case CLI_SNAPSHOT:
		return snapshot(original, &opts);
	case CLI_GC:
		return gc(original, &opts);
	case CLI_BINFMT:
		return binfmt_command(opts.verb);
	case CLI_MACHINE:
		return helper_machine_command(opts.verb);
	case CLI_NONE:
		break;
	}
	return LISPVM_EXIT_USAGE;
}
