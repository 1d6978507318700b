/* SPDX-License-Identifier: MIT */
/* A host client's stream to a guest vsock port, the Firecracker way:
 * connect to the VM's Unix socket, write "CONNECT <port>\n", read
 * "OK <hostport>\n". */
#ifndef LISPVM_TOOLS_VSOCK_CONNECT_H
#define LISPVM_TOOLS_VSOCK_CONNECT_H

#include <stddef.h>

/* A connected Unix stream socket (close-on-exec), or -1 with errno
 * (ENAMETOOLONG for a path sun_path cannot hold). */
int unix_stream_connect(const char *path);

/* A Unix stream socket (close-on-exec) bound at path and listening, or -1
 * with errno (nothing is left at path then). */
int unix_stream_listen(const char *path, int backlog);

/* The connected stream's fd (blocking), or -1 with a reason in err:
 * the socket is missing or dead, or nothing listens on the guest's port
 * (the VM closes the connection without an OK). */
int vsock_connect(const char *path, unsigned int port, char *err, size_t err_size);

#endif
