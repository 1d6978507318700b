/* SPDX-License-Identifier: MIT */
/* lispvm ps, start, stop, kill, wait, logs, inspect and rm: VMs that
 * lispvmd runs, reached through its API (docs/daemon.md). */
#ifndef LISPVM_TOOLS_DAEMON_COMMANDS_H
#define LISPVM_TOOLS_DAEMON_COMMANDS_H

#include <stdbool.h>

/* Whether command is one of the above. */
bool daemon_command_known(const char *command);

/* Runs argv[0] (one of the above) with its arguments: the exit status
 * (2: usage; 125: the daemon could not be reached or refused; wait and an
 * attached start: the VM's own). */
int daemon_command_main(int argc, char **argv);

#endif
