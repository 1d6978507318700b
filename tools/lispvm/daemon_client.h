/* SPDX-License-Identifier: MIT */
/* The lispvm CLI's side of lispvmd's API: HTTP/1.1 over the daemon's Unix
 * socket (libcurl), JSON bodies (json-c). */
#ifndef LISPVM_TOOLS_DAEMON_CLIENT_H
#define LISPVM_TOOLS_DAEMON_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct daemon_client {
	void *curl;
	char socket_path[108];
};

/* An answer: the HTTP status and the body parsed as JSON (NULL if empty or
 * not JSON).  The caller puts the body. */
struct daemon_reply {
	long status;
	struct json_object *body;
};

/* socket_path: NULL for the daemon's default (daemon_address.h).  0, or -1
 * with the reason logged. */
int daemon_client_open(struct daemon_client *client, const char *socket_path);
void daemon_client_close(struct daemon_client *client);

/* method on path (e.g. "/v1/vms") with body (NULL: none).  0 with *reply
 * filled, or -1 with the reason logged (no daemon answers there). */
int daemon_call(struct daemon_client *client, const char *method, const char *path,
		struct json_object *body, struct daemon_reply *reply);

/* A GET whose body is JSON lines (the logs): each_line gets each line
 * parsed as it arrives; a non-zero return stops the stream.  poll, if not
 * NULL, is called at least once a second while the stream waits, so a
 * caller can act on a signal.  0 with *status (the body of an error is
 * then in *error_body), or -1 with the reason logged. */
struct daemon_stream {
	int (*each_line)(struct json_object *line, void *arg);
	void (*poll)(void *arg);
	void *arg;
};
int daemon_stream_lines(struct daemon_client *client, const char *path,
			const struct daemon_stream *stream, long *status,
			struct json_object **error_body);

/* The text of an error answer: its "error" field, or the HTTP status. */
const char *daemon_error_text(const struct daemon_reply *reply, char *buf, size_t size);

/* path with the component escaped (a VM's ID or name), e.g.
 * "/v1/vms/%s/wait": into buf, or -1 if it does not fit. */
int daemon_path(struct daemon_client *client, char *buf, size_t size, const char *format,
		const char *component);

#endif
