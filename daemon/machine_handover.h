/* SPDX-License-Identifier: MIT */
/*
 * lispvmd on a host without /dev/kvm (docs/daemon.md, "Without
 * /dev/kvm"): the daemon hands itself over to the helper machine, where
 * its VMMs can run.  On the host, this process becomes the helper
 * machine's client (lispvm-machine forward), which keeps the daemon's
 * listening socket and passes each connection in, connected there as
 * its caller (uid and gid), so that SO_PEERCRED inside names the host
 * caller.  Inside, lispvmd runs as root with --machine-owner (the host
 * user whose daemon it is), listens on the socket the machine's agent
 * chose, and keeps its state in the machine.
 */
#ifndef LISPVM_DAEMON_MACHINE_HANDOVER_H
#define LISPVM_DAEMON_MACHINE_HANDOVER_H

#include <stddef.h>

/* Where a daemon's state lives inside the machine: under this, at its
 * host path (one daemon per host socket, each its own). */
#define MACHINE_STATE_ROOT "/run/lispvm-machine/lispvmd"

/* Replaces this lispvmd (argv as it was started) with the helper
 * machine's client running it there.  listen_fd: the listening socket,
 * passed on; unlink_path: its path, removed when the client ends (NULL
 * for systemd's socket, which stays).  Returns only when that cannot
 * be, with the reason in err. */
void machine_handover(char **argv, int listen_fd, const char *unlink_path, const char *state_dir,
		      char *err, size_t err_size);

/* Inside the machine: the socket the host's connections reach
 * (LISPVM_MACHINE_VSOCK_PATH), copied to path and taken out of the
 * environment with the other names of the agent's session, which no VM
 * may inherit; and the state directory made.  0, or -1 with err. */
int machine_inside(const char *state_dir, char *path, size_t size, char *err, size_t err_size);

/* Inside the machine, the runtime directories of the users the daemon runs
 * VMs for: under the machine's own tmpfs (tools/kvm-machine/init.sh). */
#define MACHINE_USERS_RUNTIME "/run/lispvm-machine/users"

#endif
