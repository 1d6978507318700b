/* SPDX-License-Identifier: MIT */
/* Where lispvmd listens: its Unix socket, made ready to accept. */
#ifndef LISPVM_DAEMON_DAEMON_SOCKET_H
#define LISPVM_DAEMON_DAEMON_SOCKET_H

#include <stddef.h>

/* Binds and listens at path, making its directory if needed.  A socket
 * file nobody answers on is stale and replaced; one a daemon answers on
 * is an error.  Root's socket is open to every user (each sees only their
 * own VMs, by SO_PEERCRED); a user's only to that user.  Returns the
 * listening descriptor, or -1 with a reason. */
int daemon_socket_listen(const char *path, char *err, size_t err_size);

#endif
