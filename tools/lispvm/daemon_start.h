/* SPDX-License-Identifier: MIT */
/* lispvm start (a VM through lispvmd, attached to its output unless
 * --detach) and lispvm logs [-f]. */
#ifndef LISPVM_TOOLS_DAEMON_START_H
#define LISPVM_TOOLS_DAEMON_START_H

#include "daemon_session.h"

int daemon_start_command(int argc, char **argv, struct daemon_session *s);
int daemon_logs_command(int argc, char **argv, struct daemon_session *s);

#endif
