/* SPDX-License-Identifier: MIT */
/* In-guest pipes (pipe.c). */
#ifndef GUEST_LINUX_PIPE_H
#define GUEST_LINUX_PIPE_H

/* Bytes a pipe holds; F_GETPIPE_SZ reports it and it does not change. */
#define PIPE_CAPACITY (64 * 1024)

#endif
