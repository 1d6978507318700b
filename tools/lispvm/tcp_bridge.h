/* SPDX-License-Identifier: MIT */
/*
 * run --swank PORT: 127.0.0.1:PORT on the host joined to a vsock port in
 * the guest, one relay thread per client.  A client that comes while the
 * guest is still starting (Swank loads in a few seconds) waits for it.
 */
#ifndef LISPVM_TOOLS_TCP_BRIDGE_H
#define LISPVM_TOOLS_TCP_BRIDGE_H

#include <pthread.h>
#include <stddef.h>

struct tcp_bridge {
	int listen_fd;
	const char *vsock_path;
	unsigned int guest_port;
	pthread_t thread;
};

/* Listens on 127.0.0.1:port (a port in use is an error now, before the
 * VM starts) and serves clients from a thread that takes no signals.
 * 0, or -1 with a reason in err. */
int tcp_bridge_start(struct tcp_bridge *b, unsigned int port, const char *vsock_path,
		     unsigned int guest_port, char *err, size_t err_size);

#endif
