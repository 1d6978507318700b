/* SPDX-License-Identifier: MIT */
/* Lifecycle events (GET /v1/events): a VM started, exited or was removed,
 * or gave memory back.
 * The last EVENTS_KEPT are kept in a ring, each with a sequence number, so
 * a reader that reconnects can ask for what followed the last it saw. */
#ifndef LISPVM_DAEMON_EVENTS_H
#define LISPVM_DAEMON_EVENTS_H

#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#define EVENTS_KEPT 1024

/* An event of type about the VM described by vm (borrowed), which owner
 * and root may see. */
void events_publish(uid_t owner, const char *type, struct json_object *vm);

/* The same, with extra (taken) as the event's field key. */
void events_publish_extra(uid_t owner, const char *type, struct json_object *vm, const char *key,
			  struct json_object *extra);

/* A reader of the events uid may see (root: all): those after sequence
 * number since, or, when since < 0, those from now on.  conn_fd: the
 * caller's socket (it stops when the caller leaves).  For http_stream. */
void *events_follow_open(uid_t uid, int64_t since, int conn_fd);
ssize_t events_follow_read(void *reader, char *buf, size_t max);
void events_follow_close(void *reader);

#endif
