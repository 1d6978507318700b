/* SPDX-License-Identifier: MIT */
#include "vm_launch.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "kernel_path.h"
#include "log.h"
#include "sbcl_image.h"

int vm_launch_machine(const struct cli_options *opts, struct vm_config *config,
		      struct vm_launch_strings *s)
{
	char why[256];

	config->memory_size = opts->memory_size;
	config->memory_size_given = opts->memory_given;
	config->snapshot_out = opts->snapshot_out;
	config->snapshot_in = opts->snapshot_in;
	config->working_set_out = opts->working_set_out;
	config->prefetch_path = opts->prefetch_path;
	config->cmdline = s->cmdline;
	config->timeout_seconds = opts->timeout_seconds;
	config->print_stats = opts->stats;
	config->vsock_path = opts->vsock_path;
	config->guest_cid = opts->guest_cid;
	config->resume = opts->resume;
	/* A VM with a vsock socket can be found, so lispvm snapshot can reach
	 * it; vsock paths leave room for the suffix. */
	if (opts->vsock_path != NULL &&
	    (size_t)snprintf(s->control, sizeof(s->control), "%s%s", opts->vsock_path,
			     VM_CONTROL_SUFFIX) < sizeof(s->control))
		config->control_path = s->control;
	if (lisp_cache_dir(opts->cache_dir, s->text_cache, sizeof(s->text_cache) - 8, why,
			   sizeof(why)) == 0) {
		strcat(s->text_cache, "/kernels");
		config->kernel_text_cache = s->text_cache;
	}
	if (opts->kernel_path != NULL)
		config->kernel_path = opts->kernel_path;
	else {
		kernel_path_default(s->kernel, sizeof(s->kernel));
		config->kernel_path = s->kernel;
	}
	if ((size_t)snprintf(s->cmdline, sizeof(s->cmdline), "%s",
			     opts->append ? opts->append : "") >= sizeof(s->cmdline)) {
		log_error("--append: guest command line longer than %zu bytes",
			  sizeof(s->cmdline) - 1);
		return LISPVM_EXIT_USAGE;
	}
	return 0;
}

int vm_launch_program(const struct cli_options *opts, struct exec_env *env,
		      struct vm_config *config, struct vm_launch_strings *strings)
{
	*config = (struct vm_config){
		.console_fd = STDERR_FILENO,
		.program = &env->program,
		.image_paths = opts->images,
		.nr_images = opts->nr_images,
		.mounts = opts->mounts,
		.nr_mounts = opts->nr_mounts,
	};
	exec_env_build(opts, env);
	return vm_launch_machine(opts, config, strings);
}

void vm_launch_signals(void)
{
	/* A console reader that goes away (lispvm run | head) must give a
	 * write error the VMM can report, not kill lispvm with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* A guest write past the host's RLIMIT_FSIZE on a --mount must be
	 * EFBIG for the guest, not SIGXFSZ for lispvm. */
	signal(SIGXFSZ, SIG_IGN);
}
