/* SPDX-License-Identifier: MIT */
/* Bytes from one descriptor to another: what lispvm attach relays, and
 * lispvmd's attach sessions and pool hand-overs send (each with SIGPIPE
 * ignored, so a gone peer is -1, not a signal). */
#ifndef LISPVM_TOOLS_FD_IO_H
#define LISPVM_TOOLS_FD_IO_H

#include <stddef.h>

/* All of buf, through short writes and EINTR: 0, or -1 when fd takes no
 * more (errno set). */
int write_all(int fd, const void *buf, size_t len);

/* Moves what one read of from gives to to: 1 (also when a signal cut the
 * read short), or 0 at the end of from, on its error or when to is gone. */
int pump(int from, int to);

#endif
