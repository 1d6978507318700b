/* SPDX-License-Identifier: MIT */
/* lispvm snapshot [VM] -o FILE [--diff BASE] [--stop] [--gc]: asks a running VM's VMM, through
 * its control socket (vmm/vm_control.h), to save the VM in FILE. */
#ifndef LISPVM_TOOLS_SNAPSHOT_COMMAND_H
#define LISPVM_TOOLS_SNAPSHOT_COMMAND_H

#include <stdbool.h>

struct snapshot_request {
	const char *target; /* the VM, as for attach (NULL: the only one) */
	const char *file;
	const char *base; /* NULL, or the snapshot FILE is a diff over */
	bool stop;	  /* the VM ends once saved */
	bool collect;	  /* a full GC first, through the attach agent */
};

/* The exit status: 0 once FILE is written, else LISPVM_EXIT_HOST_ERROR
 * after one line on stderr. */
int snapshot_command(const struct snapshot_request *req);

#endif
