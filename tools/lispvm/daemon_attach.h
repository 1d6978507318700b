/* SPDX-License-Identifier: MIT */
/* lispvm attach NAME through lispvmd, for a VM whose socket this process
 * cannot reach (another user's helper machine, on a host without
 * /dev/kvm): POST /v1/vms/{vm}/attach asking to switch the connection to
 * "lispvm-attach" (docs/daemon.md); after the 101 it carries the
 * session's bytes as the VM's own socket would. */
#ifndef LISPVM_TOOLS_DAEMON_ATTACH_H
#define LISPVM_TOOLS_DAEMON_ATTACH_H

#include <stddef.h>

/* 0 with *fd, the session; 1 when no daemon answers or it has no such VM
 * (the caller looks elsewhere); -1 with the daemon's reason in err. */
int daemon_attach_open(const char *vm, int *fd, char *err, size_t err_size);

#endif
