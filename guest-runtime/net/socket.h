/* SPDX-License-Identifier: MIT */
/*
 * Sockets: the system calls (socket.c) do the Linux bookkeeping once
 * (descriptors, user memory, iovecs, flags, SIGPIPE); each address family
 * supplies its protocol as socket_ops.  A socket is an open file, so
 * read, write, poll, fcntl and close work on it as on any other.
 */
#ifndef GUEST_NET_SOCKET_H
#define GUEST_NET_SOCKET_H

#include <stdbool.h>
#include <stdint.h>

struct socket;

/* Addresses are kernel copies, at most SOCKET_ADDR_MAX bytes. */
#define SOCKET_ADDR_MAX 128

struct socket_ops {
	int (*bind)(struct socket *s, const void *addr, uint32_t len);
	/* 0, -EINPROGRESS (nonblock), or -errno. */
	int (*connect)(struct socket *s, const void *addr, uint32_t len, bool nonblock);
	int (*listen)(struct socket *s, int backlog);
	/* The next connection, as a new socket. */
	int (*accept)(struct socket *s, struct socket **out, bool nonblock);
	/* The local (peer false) or peer address into addr; its length. */
	int (*getname)(struct socket *s, void *addr, bool peer);
	/* buf is a user address; flags are MSG_*, with MSG_DONTWAIT set for
	 * O_NONBLOCK files. */
	int64_t (*send)(struct socket *s, const void *buf, uint64_t len, int flags);
	int64_t (*recv)(struct socket *s, void *buf, uint64_t len, int flags);
	int (*shutdown)(struct socket *s, int how);
	/* val is a kernel copy of the user's value. */
	int (*setsockopt)(struct socket *s, int level, int name, const void *val, uint32_t len);
	/* Fills val (room for *len bytes, at least sizeof(int)); sets *len. */
	int (*getsockopt)(struct socket *s, int level, int name, void *val, uint32_t *len);
	unsigned int (*poll)(struct socket *s);
	int64_t (*ioctl)(struct socket *s, unsigned int cmd, uint64_t arg);
	/* The last descriptor closed: free it. */
	void (*release)(struct socket *s);
};

struct socket {
	const struct socket_ops *ops;
	int family, type;
	uint64_t ino;
};

/* A file for s, with O_NONBLOCK from flags (SOCK_NONBLOCK), installed at
 * a new descriptor (SOCK_CLOEXEC); the descriptor or -errno (s is
 * released on failure). */
int socket_install(struct socket *s, int flags);

#endif
