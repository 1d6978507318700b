/* SPDX-License-Identifier: MIT */
#include "daemon_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "log.h"

int daemon_usage(const char *command, const char *fmt, const char *arg)
{
	fprintf(stderr, "lispvm %s: ", command);
	fprintf(stderr, fmt, arg);
	fputs(" (try 'lispvm --help')\n", stderr);
	return LISPVM_EXIT_USAGE;
}

int daemon_open_client(struct daemon_session *c)
{
	const char *socket = c->socket != NULL ? c->socket : getenv("LISPVMD_SOCKET");

	return daemon_client_open(&c->client, socket != NULL && *socket ? socket : NULL);
}

/* An answer with another status than wanted: its error, one line. */
int daemon_refused(const char *command, const char *vm, struct daemon_reply *reply)
{
	char buf[64];

	log_error("%s%s%s: %s", command, vm ? " " : "", vm ? vm : "",
		  daemon_error_text(reply, buf, sizeof(buf)));
	json_object_put(reply->body);
	return LISPVM_EXIT_HOST_ERROR;
}

/* method on "/v1/vms/VM/what" (what may be empty); 0 with the VM's body.
 * what is text of ours (a path and a checked query), never a format. */
int daemon_call_vm(struct daemon_session *c, const char *method, const char *vm, const char *what,
		   struct json_object *body, struct daemon_reply *reply)
{
	char path[PATH_SIZE];
	size_t len;

	if (daemon_path(&c->client, path, sizeof(path), "/v1/vms/%s", vm) < 0 ||
	    (len = strlen(path), (size_t)snprintf(path + len, sizeof(path) - len, "%s%s",
						  *what ? "/" : "", what) >= sizeof(path) - len)) {
		log_error("%s: VM name too long", vm);
		return -1;
	}
	return daemon_call(&c->client, method, path, body, reply);
}

const char *json_string_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

bool json_int_field(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

double json_number_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && (json_object_is_type(v, json_type_double) ||
							 json_object_is_type(v, json_type_int))
		       ? json_object_get_double(v)
		       : 0;
}

/* An ended VM's status as a shell gives it: its code, or 128 + signal. */
int vm_exit_status(struct json_object *vm)
{
	int64_t code, sig;

	if (json_int_field(vm, "exit_code", &code))
		return (int)code;
	if (json_int_field(vm, "signal", &sig))
		return 128 + (int)sig;
	return LISPVM_EXIT_HOST_ERROR; /* lost: nobody saw how it ended */
}

/* Parses the options common to all commands and those in longopts; each
 * command-specific option goes to take().  Returns optind, or -1 after a
 * usage message. */
int daemon_parse_options(const char *command, int argc, char **argv, const char *shortopts,
			 const struct option *own, struct daemon_session *c,
			 int (*take)(int opt, const char *arg, void *ctx), void *ctx)
{
	struct option all[24];
	size_t n = 0;
	char spec[32];
	int opt;

	for (; own != NULL && own[n].name != NULL && n < 20; n++)
		all[n] = own[n];
	all[n++] = (struct option){"socket", required_argument, NULL, OPT_SOCKET};
	all[n] = (struct option){0};
	snprintf(spec, sizeof(spec), "+%s", shortopts);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, spec, all, NULL)) != -1) {
		if (opt == OPT_SOCKET) {
			c->socket = optarg;
			continue;
		}
		if (opt == '?' || opt == ':') {
			daemon_usage(command, "unknown option or missing value in '%s'",
				     argv[optind - 1]);
			return -1;
		}
		if (take(opt, optarg, ctx) < 0)
			return -1;
	}
	return optind;
}

int daemon_no_options(int opt, const char *arg, void *ctx)
{
	(void)opt, (void)arg, (void)ctx;
	return 0;
}

int daemon_stream_ok(struct daemon_session *c, const char *command, const char *vm,
		     const char *path, const struct daemon_stream *stream)
{
	struct daemon_reply reply = {0};

	if (daemon_stream_lines(&c->client, path, stream, &reply.status, &reply.body) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200)
		return daemon_refused(command, vm, &reply);
	json_object_put(reply.body);
	return 0;
}
