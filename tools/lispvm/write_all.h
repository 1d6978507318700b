/* SPDX-License-Identifier: MIT */
/* All of a buffer to a descriptor, through short writes and EINTR: what
 * lispvm attach, lispvmd's attach sessions and its pool hand-overs send
 * (each with SIGPIPE ignored, so a gone peer is -1, not a signal). */
#ifndef LISPVM_TOOLS_WRITE_ALL_H
#define LISPVM_TOOLS_WRITE_ALL_H

#include <stddef.h>

/* 0, or -1 when the descriptor takes no more (errno set). */
int write_all(int fd, const void *buf, size_t len);

#endif
