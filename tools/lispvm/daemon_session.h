/* SPDX-License-Identifier: MIT */
/* What lispvm's daemon commands share: the session with lispvmd, option
 * parsing, one-line refusals, fields of the answers. */
#ifndef LISPVM_TOOLS_DAEMON_SESSION_H
#define LISPVM_TOOLS_DAEMON_SESSION_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon_client.h"

#define PATH_SIZE 512

enum {
	OPT_SOCKET = 1000,
	OPT_LABEL,
	OPT_STATE,
	OPT_MOUNT,
	OPT_ENV,
	OPT_CWD,
	OPT_CORE,
	OPT_SNAPSHOT,
	OPT_ATTACHABLE,
	OPT_EVAL,
	OPT_TIMEOUT,
	OPT_SINCE,
	OPT_JSON
};

/* What every command shares: the daemon it talks to. */
struct daemon_session {
	const char *socket;
	struct daemon_client client;
};

/* A usage message, one line: returns LISPVM_EXIT_USAGE. */
int daemon_usage(const char *command, const char *fmt, const char *arg);

/* Opens the client on --socket, $LISPVMD_SOCKET or the default. */
int daemon_open_client(struct daemon_session *s);

/* An answer other than the one wanted: its error on one line, the body
 * put; returns LISPVM_EXIT_HOST_ERROR. */
int daemon_refused(const char *command, const char *vm, struct daemon_reply *reply);

/* method on /v1/vms/VM[/what]: 0 with the reply, or -1 (logged). */
int daemon_call_vm(struct daemon_session *s, const char *method, const char *vm, const char *what,
		   struct json_object *body, struct daemon_reply *reply);

/* A field of a JSON object, if it is there with that type. */
const char *json_string_field(struct json_object *o, const char *key);
bool json_int_field(struct json_object *o, const char *key, int64_t *out);
double json_number_field(struct json_object *o, const char *key);

/* Streams path's JSON lines to stream: 0 once it ended, or the exit
 * status after a one-line error (no daemon; an answer other than 200). */
int daemon_stream_ok(struct daemon_session *s, const char *command, const char *vm,
		     const char *path, const struct daemon_stream *stream);

/* An ended VM's status as a shell gives it: its code, or 128 + signal. */
int vm_exit_status(struct json_object *vm);

/* Parses --socket and the command's own options (shortopts, own); each
 * of its own goes to take().  Returns the index of the first operand, or
 * -1 after a usage message. */
int daemon_parse_options(const char *command, int argc, char **argv, const char *shortopts,
			 const struct option *own, struct daemon_session *s,
			 int (*take)(int opt, const char *arg, void *ctx), void *ctx);
int daemon_no_options(int opt, const char *arg, void *ctx);

#endif
