/* SPDX-License-Identifier: MIT */
/* lispvmd under systemd: the listening socket it was handed (a socket
 * unit), and readiness told to the service manager. */
#ifndef LISPVM_DAEMON_SOCKET_ACTIVATION_H
#define LISPVM_DAEMON_SOCKET_ACTIVATION_H

#include <stddef.h>

/* The socket systemd passed (LISTEN_FDS), its path in
 * path; -1 with err empty if none was passed, or with a reason if what was
 * passed is not one listening Unix stream socket. */
int socket_activation_listener(char *path, size_t size, char *err, size_t err_size);

/* "READY=1" or "STOPPING=1" to the service manager, if there is one. */
void socket_activation_notify(const char *state);

#endif
