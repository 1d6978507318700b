/* SPDX-License-Identifier: MIT */
/*
 * lispvm attach through the daemon (POST /v1/vms/{vm}/attach with
 * "Upgrade: lispvm-attach"): for a caller who cannot reach the VM's own
 * socket, which is where the VM's user keeps it, inside the helper
 * machine when the host has no /dev/kvm.  The daemon runs `lispvm attach
 * NAME` as the VM's user (so it connects only where that user may) with
 * LISPVM_ATTACH_DIRECT=1 (it must not come back through the daemon), and
 * once the attach agent has answered, switches the caller's connection
 * over to the session's bytes, both ways.
 */
#ifndef LISPVM_DAEMON_ATTACH_SESSION_H
#define LISPVM_DAEMON_ATTACH_SESSION_H

#include <stddef.h>
#include <sys/types.h>

#include "vm_table.h"

#define ATTACH_PROTOCOL "lispvm-attach"

struct attach_session;

/* Starts the attach as t's user and waits for the agent's first words:
 * the session, or NULL with the reason in err (lispvm attach's line) and
 * *status (502: the VM's agent did not answer; 500). */
struct attach_session *attach_session_start(const struct vm_target *t, unsigned int *status,
					    char *err, size_t err_size);

/* The session over sock until either side ends (or lispvmd does); extra:
 * what the caller sent before the switch.  Matches http_upgrade.run. */
void attach_session_run(void *session, int sock, const char *extra, size_t extra_len);

/* Ends the attach (if it still runs) and frees the session. */
void attach_session_free(void *session);

#endif
