/* SPDX-License-Identifier: MIT */
/* lispvm snapshot [VM] -o FILE [--diff BASE] [--stop]: asks a running VM's VMM, through
 * its control socket (vmm/vm_control.h), to save the VM in FILE. */
#ifndef LISPVM_TOOLS_SNAPSHOT_COMMAND_H
#define LISPVM_TOOLS_SNAPSHOT_COMMAND_H

#include <stdbool.h>

/* Whether the VM named target (as for attach) runs on this host. */
bool snapshot_target_here(const char *target);

/* The exit status: 0 once FILE is written, else LISPVM_EXIT_HOST_ERROR
 * after one line on stderr.  base: NULL, or the snapshot FILE is a diff
 * over. */
int snapshot_command(const char *target, const char *file, const char *base, bool stop);

#endif
