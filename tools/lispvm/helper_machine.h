/* SPDX-License-Identifier: MIT */
/*
 * lispvm on a host without /dev/kvm: the command runs in the helper
 * machine (tools/kvm-machine/lispvm-machine, a Linux VM with nested KVM
 * under QEMU), to which this process hands itself over.
 */
#ifndef LISPVM_TOOLS_HELPER_MACHINE_H
#define LISPVM_TOOLS_HELPER_MACHINE_H

#include <stdbool.h>

#include "cli.h"
#include "machine_client.h"

/* Replaces this process with the helper machine's client running this
 * same lispvm with argv there; returns an exit status only if that
 * cannot start.  no_boot: use a running machine only (attach). */
int helper_machine_forward(char **argv, const struct cli_options *opts, bool no_boot);

/* lispvm machine status|start|stop */
int helper_machine_command(const char *verb);

/* Inside the helper machine, the names the host end chose: the VMM's
 * --vsock socket (the host's path is the client's listener) and the name
 * 'lispvm attach' knows the VM by (the host lispvm's pid). */
const char *helper_machine_vsock_path(const char *requested);
const char *helper_machine_vm_name(void);

#endif
