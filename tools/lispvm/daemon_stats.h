/* SPDX-License-Identifier: MIT */
/* lispvm stats [VM...]: the CPU time and memory of VMs that lispvmd runs,
 * as it reads them from their VMMs now. */
#ifndef LISPVM_TOOLS_DAEMON_STATS_H
#define LISPVM_TOOLS_DAEMON_STATS_H

#include "daemon_session.h"

/* An exit status (2: usage; 125: the daemon could not be reached or
 * refused). */
int daemon_stats_command(int argc, char **argv, struct daemon_session *s);

#endif
