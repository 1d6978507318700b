/* SPDX-License-Identifier: MIT */
/* lispvm pools [SNAPSHOT=N...]: lispvmd's warm pools (lispvmd --pool),
 * each set to N warm VMs first (0: none), then listed: how many each
 * holds ready, and how the last failure went. */
#ifndef LISPVM_TOOLS_DAEMON_POOLS_H
#define LISPVM_TOOLS_DAEMON_POOLS_H

#include "daemon_session.h"

/* An exit status (2: usage; 125: the daemon could not be reached or
 * refused). */
int daemon_pools_command(int argc, char **argv, struct daemon_session *s);

#endif
