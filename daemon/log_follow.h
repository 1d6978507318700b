/* SPDX-License-Identifier: MIT */
/*
 * A VM's log as a stream (GET /v1/vms/{vm}/logs): log.1 then log; with
 * follow, on through each line the VM writes and across the monitor's
 * rotations, until the VM has ended and all of it was sent, or the caller
 * has gone.  A follower more than a rotation behind (the VM wrote more
 * than the cap while it read) skips what the log dropped.  The read fits http_stream: it blocks in
 * the connection's own thread.
 */
#ifndef LISPVM_DAEMON_LOG_FOLLOW_H
#define LISPVM_DAEMON_LOG_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* NULL when out of memory.  conn_fd: the caller's socket, watched for
 * its going away while the stream waits. */
void *log_follow_open(const char *dir, bool follow, int conn_fd);
ssize_t log_follow_read(void *follower, char *buf, size_t max);
void log_follow_close(void *follower);

#endif
