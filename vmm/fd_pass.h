/* SPDX-License-Identifier: MIT */
/* Descriptors passed over a Unix stream socket (SCM_RIGHTS) with the
 * bytes they go with: lispvm snapshot's file to the VM's control socket,
 * a jailed warm VM's invocation and mount roots (tools/lispvm). */
#ifndef LISPVM_VMM_FD_PASS_H
#define LISPVM_VMM_FD_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define FD_PASS_MAX 8

/* The iov's bytes, all of them through short writes and EINTR, with
 * fds[0..n) (n at most FD_PASS_MAX) attached to the first; never
 * SIGPIPE.  0, or -1 with errno set (EAGAIN: SO_SNDTIMEO ran out). */
int fd_pass_send(int sock, const struct iovec *iov, size_t iovcnt, const int *fds, unsigned int n);

/* One recvmsg into buf (flags as recvmsg's; close-on-exec added).  The
 * descriptors that came with those bytes go to fds, at most max (at most
 * FD_PASS_MAX), *n of them; any beyond max, or dropped by the kernel for
 * want of room (MSG_CTRUNC), set *dropped (the others are closed).
 * Returns what recvmsg returned. */
ssize_t fd_pass_recv(int sock, void *buf, size_t len, int flags, int *fds, unsigned int max,
		     unsigned int *n, bool *dropped);

#endif
