/* SPDX-License-Identifier: MIT */
/* From parsed options to the VMM's configuration, for every command that
 * runs a VM: the machine (kernel, memory, snapshot, vsock, timeout) and,
 * for a program, its invocation (argv, environment, mounts, stdio). */
#ifndef LISPVM_TOOLS_VM_LAUNCH_H
#define LISPVM_TOOLS_VM_LAUNCH_H

#include <limits.h>

#include "cli.h"
#include "exec_env.h"
#include "vm.h"
#include "vm_control.h"

/* What a configuration's strings point into; it must outlive the VM. */
struct vm_launch_strings {
	char kernel[PATH_MAX];
	char text_cache[PATH_MAX];
	char cmdline[1024];
	char control[VM_CONTROL_PATH_MAX];
};

/* Sets config's machine options from opts.  0, or an exit status after a
 * one-line message. */
int vm_launch_machine(const struct cli_options *opts, struct vm_config *config,
		      struct vm_launch_strings *strings);

/* A program's configuration (exec, and run/eval/repl once lisp_run has
 * prepared opts): the program owns stdout, the guest runtime's own
 * messages go to stderr.  env holds the program's vectors. */
int vm_launch_program(const struct cli_options *opts, struct exec_env *env,
		      struct vm_config *config, struct vm_launch_strings *strings);

/* Host signal dispositions every VMM runs with. */
void vm_launch_signals(void);

#endif
