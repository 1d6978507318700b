/* SPDX-License-Identifier: MIT */
#include "daemon_start.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "log.h"
#include "mount_spec.h"

/* ---- logs, and start's attached output ---- */

/* Signals received and not yet passed on, one bit each. */
static volatile sig_atomic_t pending_signals;

static void remember_signal(int signo)
{
	pending_signals |= 1 << signo;
}

struct log_printer {
	struct daemon_session *c;
	const char *vm;
	struct daemon_client signaller; /* forwards a signal while the stream runs */
	bool forwarding;
};

static int print_log_line(struct json_object *line, void *arg)
{
	struct json_object *partial;
	const char *stream = json_string_field(line, "stream"),
		   *text = json_string_field(line, "line");
	FILE *to = stream != NULL && strcmp(stream, "stderr") == 0 ? stderr : stdout;

	(void)arg;
	if (text == NULL)
		return 0;
	fputs(text, to);
	if (!json_object_object_get_ex(line, "partial", &partial) ||
	    !json_object_get_boolean(partial))
		fputc('\n', to);
	fflush(to);
	return 0;
}

static const char *signal_name(int signo)
{
	switch (signo) {
	case SIGINT:
		return "INT";
	case SIGTERM:
		return "TERM";
	case SIGHUP:
		return "HUP";
	case SIGQUIT:
		return "QUIT";
	default:
		return NULL;
	}
}

/* Each signal that reached this command goes on to the VM (as Ctrl-C in
 * 'lispvm run' reaches the program). */
static void forward_signal(void *arg)
{
	struct log_printer *p = arg;
	char path[PATH_SIZE];

	if (!p->forwarding || pending_signals == 0 ||
	    daemon_path(&p->signaller, path, sizeof(path), "/v1/vms/%s/kill", p->vm) < 0)
		return;
	for (int signo = SIGHUP; signo <= SIGTERM; signo++) {
		struct json_object *body;
		struct daemon_reply reply;

		if (!(pending_signals & (1 << signo)) || signal_name(signo) == NULL)
			continue;
		pending_signals &= ~(1 << signo);
		body = json_object_new_object();
		json_object_object_add(body, "signal", json_object_new_string(signal_name(signo)));
		if (daemon_call(&p->signaller, "POST", path, body, &reply) == 0)
			json_object_put(reply.body);
		json_object_put(body);
	}
}

/* Signals to pass on are caught from before the VM is asked for (one
 * that comes while it starts goes on once it runs) until its output has
 * ended; then they act on this command again. */
static void catch_signals(bool catch)
{
	struct sigaction sa = {.sa_handler = catch ? remember_signal : SIG_DFL};

	sigemptyset(&sa.sa_mask);
	for (int signo = SIGHUP; signo <= SIGTERM; signo++)
		if (signal_name(signo) != NULL)
			sigaction(signo, &sa, NULL);
}

/* The VM's output so far (and on until it ends, with follow). */
static int stream_logs(struct daemon_session *c, const char *vm, bool follow, struct log_printer *p)
{
	char path[PATH_SIZE];
	struct daemon_stream stream = {
		.each_line = print_log_line, .poll = forward_signal, .arg = p};

	if (daemon_path(&c->client, path, sizeof(path),
			follow ? "/v1/vms/%s/logs?follow=1" : "/v1/vms/%s/logs", vm) < 0) {
		log_error("%s: VM name too long", vm);
		return LISPVM_EXIT_HOST_ERROR;
	}
	return daemon_stream_ok(c, "logs", vm, path, &stream);
}

static int logs_take(int opt, const char *arg, void *ctx)
{
	(void)arg;
	if (opt == 'f')
		*(bool *)ctx = true;
	return 0;
}

int daemon_logs_command(int argc, char **argv, struct daemon_session *c)
{
	static const struct option own[] = {{"follow", no_argument, NULL, 'f'}, {0}};
	struct log_printer printer = {.c = c};
	bool follow = false;
	int next = daemon_parse_options("logs", argc, argv, "f", own, c, logs_take, &follow);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next != argc - 1)
		return daemon_usage("logs", "%s", "give one VM (lispvm logs [-f] VM)");
	if (daemon_open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	printer.vm = argv[next];
	return stream_logs(c, argv[next], follow, &printer);
}

/* ---- start ---- */

struct start_options {
	struct json_object *spec;
	bool detach;
	const char *eval;
};

static struct json_object *member(struct json_object *spec, const char *key, bool array)
{
	struct json_object *v;

	if (!json_object_object_get_ex(spec, key, &v)) {
		v = array ? json_object_new_array() : json_object_new_object();
		json_object_object_add(spec, key, v);
	}
	return v;
}

/* path made absolute (the daemon does not share this command's cwd). */
static int add_path(struct json_object *to, const char *key, const char *path)
{
	char *real = realpath(path, NULL);

	if (real == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	json_object_object_add(to, key, json_object_new_string(real));
	free(real);
	return 0;
}

static int add_key_value(struct json_object *to, const char *option, const char *arg,
			 bool from_environment)
{
	const char *eq = strchr(arg, '=');
	char key[256];

	if (eq == NULL && from_environment) {
		const char *value = getenv(arg);

		if (value != NULL)
			json_object_object_add(to, arg, json_object_new_string(value));
		return 0;
	}
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		daemon_usage("start", option, arg);
		return -1;
	}
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	json_object_object_add(to, key, json_object_new_string(eq + 1));
	return 0;
}

static int add_mount(struct json_object *spec, const char *arg)
{
	struct guest_mount m;
	struct json_object *entry;
	char *copy = strdup(arg);
	const char *why = copy ? mount_spec_parse(copy, &m) : "out of memory";

	if (why != NULL) {
		fprintf(stderr, "lispvm start: --mount: '%s' %s (try 'lispvm --help')\n", arg, why);
		free(copy);
		return -1;
	}
	entry = json_object_new_object();
	if (add_path(entry, "host", m.host_path) < 0) {
		json_object_put(entry);
		free(copy);
		return -1;
	}
	json_object_object_add(entry, "guest", json_object_new_string(m.guest_path));
	json_object_object_add(entry, "readonly", json_object_new_boolean(m.readonly));
	if (m.max_size != 0) {
		char bytes[32];

		snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)m.max_size);
		json_object_object_add(entry, "max_size", json_object_new_string(bytes));
	}
	json_object_array_add(member(spec, "mounts", true), entry);
	free(copy);
	return 0;
}

static int start_take(int opt, const char *arg, void *ctx)
{
	struct start_options *o = ctx;
	struct json_object *spec = o->spec;

	switch (opt) {
	case 'd':
		o->detach = true;
		return 0;
	case 'n':
		json_object_object_add(spec, "name", json_object_new_string(arg));
		return 0;
	case 'm':
		json_object_object_add(spec, "memory", json_object_new_string(arg));
		return 0;
	case OPT_LABEL:
		return add_key_value(member(spec, "labels", false),
				     "--label: '%s' is not KEY=VALUE", arg, false);
	case OPT_ENV:
		return add_key_value(member(spec, "env", false),
				     "--env: '%s' is not NAME=VALUE or NAME", arg, true);
	case OPT_MOUNT:
		return add_mount(spec, arg);
	case OPT_CWD:
		json_object_object_add(spec, "cwd", json_object_new_string(arg));
		return 0;
	case OPT_CORE:
		return add_path(spec, "core", arg);
	case OPT_SNAPSHOT:
		return add_path(spec, "snapshot", arg);
	case OPT_ATTACHABLE:
		json_object_object_add(spec, "attachable", json_object_new_boolean(true));
		return 0;
	case OPT_EVAL:
		o->eval = arg;
		return 0;
	}
	return 0;
}

/* Follows an attached VM's output until it ends: its exit status. */
static int run_attached(struct daemon_session *c, const char *id)
{
	struct log_printer printer = {.c = c, .vm = id, .forwarding = true};
	struct daemon_reply reply;
	int status;

	if (daemon_client_open(&printer.signaller, c->client.socket_path) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	status = stream_logs(c, id, true, &printer);
	catch_signals(false);
	daemon_client_close(&printer.signaller);
	if (status != 0)
		return status;
	if (daemon_call_vm(c, "POST", id, "wait", NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200)
		return daemon_refused("start", id, &reply);
	status = vm_exit_status(reply.body);
	json_object_put(reply.body);
	return status;
}

int daemon_start_command(int argc, char **argv, struct daemon_session *c)
{
	static const struct option own[] = {{"detach", no_argument, NULL, 'd'},
					    {"name", required_argument, NULL, 'n'},
					    {"memory", required_argument, NULL, 'm'},
					    {"label", required_argument, NULL, OPT_LABEL},
					    {"env", required_argument, NULL, OPT_ENV},
					    {"mount", required_argument, NULL, OPT_MOUNT},
					    {"cwd", required_argument, NULL, OPT_CWD},
					    {"core", required_argument, NULL, OPT_CORE},
					    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
					    {"attachable", no_argument, NULL, OPT_ATTACHABLE},
					    {"eval", required_argument, NULL, OPT_EVAL},
					    {0}};
	struct start_options o = {.spec = json_object_new_object()};
	struct daemon_reply reply;
	int next = daemon_parse_options("start", argc, argv, "dn:m:", own, c, start_take, &o),
	    status;
	const char *id;
	char *id_copy;
	bool resume;

	if (next < 0) {
		json_object_put(o.spec);
		return LISPVM_EXIT_USAGE;
	}
	/* --snapshot FILE alone resumes a saved VM, as 'lispvm run' does. */
	resume = o.eval == NULL && next == argc &&
		 json_object_object_get_ex(o.spec, "snapshot", NULL);
	if ((o.eval != NULL) == (next < argc) && !resume) {
		json_object_put(o.spec);
		return daemon_usage("start", "%s",
				    "give a PROGRAM [ARGS...] or --eval FORMS, not both (or "
				    "--snapshot FILE alone, to resume a saved VM)");
	}
	if (resume) {
		/* nothing to add: the snapshot says what runs */
	} else if (o.eval != NULL) {
		json_object_object_add(o.spec, "eval", json_object_new_string(o.eval));
	} else {
		struct json_object *args = json_object_new_array();

		if (add_path(o.spec, "program", argv[next]) < 0) {
			json_object_put(args);
			json_object_put(o.spec);
			return LISPVM_EXIT_HOST_ERROR;
		}
		for (int i = next + 1; i < argc; i++)
			json_object_array_add(args, json_object_new_string(argv[i]));
		json_object_object_add(o.spec, "args", args);
	}
	if (!o.detach)
		catch_signals(true);
	if (daemon_open_client(c) < 0 ||
	    daemon_call(&c->client, "POST", "/v1/vms", o.spec, &reply) < 0) {
		json_object_put(o.spec);
		return LISPVM_EXIT_HOST_ERROR;
	}
	json_object_put(o.spec);
	if (reply.status != 201 || (id = json_string_field(reply.body, "id")) == NULL)
		return daemon_refused("start", NULL, &reply);
	if (o.detach) {
		printf("%s\n", id);
		json_object_put(reply.body);
		return 0;
	}
	id_copy = strdup(id);
	json_object_put(reply.body);
	status = id_copy ? run_attached(c, id_copy) : LISPVM_EXIT_HOST_ERROR;
	free(id_copy);
	return status;
}
