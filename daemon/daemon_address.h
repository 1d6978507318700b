/* SPDX-License-Identifier: MIT */
/* Where lispvmd listens by default, which its clients (the lispvm CLI)
 * look up the same way. */
#ifndef LISPVM_DAEMON_DAEMON_ADDRESS_H
#define LISPVM_DAEMON_DAEMON_ADDRESS_H

#include <stddef.h>

/* The default socket: /run/lispvm/lispvmd.sock for root, else
 * $XDG_RUNTIME_DIR/lispvm/lispvmd.sock.  0, or -1 with a reason. */
int daemon_socket_default_path(char *path, size_t size, char *err, size_t err_size);

/* Where a client finds lispvmd: the default above when a socket is there
 * (a user's own daemon), else root's, which serves every user, when it is
 * there, else the default (whose absence the client then reports).  0,
 * or -1 with a reason. */
int daemon_socket_client_path(char *path, size_t size, char *err, size_t err_size);

#endif
