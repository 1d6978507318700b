/* SPDX-License-Identifier: MIT */
/* lispvm attach: the terminal end of the attach agent's REPL (agent/attach.lisp). */
#ifndef LISPVM_TOOLS_ATTACH_H
#define LISPVM_TOOLS_ATTACH_H

#include <stdbool.h>

/* Relays the terminal to the VM's agent until either side ends; Ctrl-C
 * goes to the agent as an interrupt.  The exit status. */
int attach_command(const char *target);

/* The session on fd, a connection to the agent (closed here): 0. */
int attach_session(int fd);

/* Whether target (as attach_command takes it) names a VM of this host. */
bool attach_target_here(const char *target);

#endif
