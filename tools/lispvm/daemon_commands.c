/* SPDX-License-Identifier: MIT */
#include "daemon_commands.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "daemon_client.h"
#include "log.h"
#include "mount_spec.h"

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
	OPT_TIMEOUT
};

/* What every command's options share. */
struct common {
	const char *socket;
	struct daemon_client client;
};

static int usage(const char *command, const char *fmt, const char *arg)
{
	fprintf(stderr, "lispvm %s: ", command);
	fprintf(stderr, fmt, arg);
	fputs(" (try 'lispvm --help')\n", stderr);
	return LISPVM_EXIT_USAGE;
}

static int open_client(struct common *c)
{
	const char *socket = c->socket != NULL ? c->socket : getenv("LISPVMD_SOCKET");

	return daemon_client_open(&c->client, socket != NULL && *socket ? socket : NULL);
}

/* An answer with another status than wanted: its error, one line. */
static int refused(const char *command, const char *vm, struct daemon_reply *reply)
{
	char buf[64];

	log_error("%s%s%s: %s", command, vm ? " " : "", vm ? vm : "",
		  daemon_error_text(reply, buf, sizeof(buf)));
	json_object_put(reply->body);
	return LISPVM_EXIT_HOST_ERROR;
}

/* method on "/v1/vms/VM/what" (what may be empty); 0 with the VM's body. */
static int call_vm(struct common *c, const char *method, const char *vm, const char *what,
		   struct json_object *body, struct daemon_reply *reply)
{
	char path[PATH_SIZE], format[64];

	snprintf(format, sizeof(format), "/v1/vms/%%s%s%s", *what ? "/" : "", what);
	if (daemon_path(&c->client, path, sizeof(path), format, vm) < 0) {
		log_error("%s: VM name too long", vm);
		return -1;
	}
	return daemon_call(&c->client, method, path, body, reply);
}

static const char *string_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static bool int_field(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static double number_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && (json_object_is_type(v, json_type_double) ||
							 json_object_is_type(v, json_type_int))
		       ? json_object_get_double(v)
		       : 0;
}

/* An ended VM's status as a shell gives it: its code, or 128 + signal. */
static int exit_status_of(struct json_object *vm)
{
	int64_t code, sig;

	if (int_field(vm, "exit_code", &code))
		return (int)code;
	if (int_field(vm, "signal", &sig))
		return 128 + (int)sig;
	return LISPVM_EXIT_HOST_ERROR; /* lost: nobody saw how it ended */
}

/* Parses the options common to all commands and those in longopts; each
 * command-specific option goes to take().  Returns optind, or -1 after a
 * usage message. */
static int parse(const char *command, int argc, char **argv, const char *shortopts,
		 const struct option *own, struct common *c,
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
			usage(command, "unknown option or missing value in '%s'", argv[optind - 1]);
			return -1;
		}
		if (take(opt, optarg, ctx) < 0)
			return -1;
	}
	return optind;
}

static int no_options(int opt, const char *arg, void *ctx)
{
	(void)opt, (void)arg, (void)ctx;
	return 0;
}

/* ---- ps ---- */

struct ps_options {
	bool all, quiet;
	const char *label, *state;
};

static int ps_take(int opt, const char *arg, void *ctx)
{
	struct ps_options *o = ctx;

	if (opt == 'a')
		o->all = true;
	else if (opt == 'q')
		o->quiet = true;
	else if (opt == OPT_LABEL)
		o->label = arg;
	else if (opt == OPT_STATE)
		o->state = arg;
	return 0;
}

static void format_age(double seconds, char *buf, size_t size)
{
	long s = seconds < 0 ? 0 : (long)seconds;

	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (s < 7200)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%ldh", s / 3600);
	else
		snprintf(buf, size, "%ldd", s / 86400);
}

/* "exited 3", "killed 9", "running": the STATE column. */
static void format_state(struct json_object *vm, char *buf, size_t size)
{
	const char *state = string_field(vm, "state");
	int64_t n;

	if (state != NULL && strcmp(state, "exited") == 0 && int_field(vm, "exit_code", &n))
		snprintf(buf, size, "exited %lld", (long long)n);
	else if (state != NULL && strcmp(state, "exited") == 0 && int_field(vm, "signal", &n))
		snprintf(buf, size, "killed %lld", (long long)n);
	else
		snprintf(buf, size, "%s", state ? state : "?");
}

/* What the VM runs: its program and arguments, or its forms. */
static void format_command(struct json_object *vm, char *buf, size_t size)
{
	struct json_object *spec = NULL, *args;
	const char *program, *forms;
	size_t len;

	json_object_object_get_ex(vm, "spec", &spec);
	program = string_field(spec, "program");
	forms = string_field(spec, "eval");
	snprintf(buf, size, "%s%s", program ? program : "eval ", program ? "" : forms ? forms : "");
	if (program != NULL && json_object_object_get_ex(spec, "args", &args))
		for (size_t i = 0; i < json_object_array_length(args); i++) {
			len = strlen(buf);
			snprintf(buf + len, size - len, " %s",
				 json_object_get_string(json_object_array_get_idx(args, i)));
		}
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static void print_vm_row(struct json_object *vm, double now)
{
	char state[32], age[24], command[48], pid_text[24] = "-";
	const char *name = string_field(vm, "name");
	int64_t pid;

	format_state(vm, state, sizeof(state));
	format_age(now - number_field(vm, "created"), age, sizeof(age));
	format_command(vm, command, sizeof(command));
	if (int_field(vm, "pid", &pid))
		snprintf(pid_text, sizeof(pid_text), "%lld", (long long)pid);
	printf("%-12s  %-16s  %-10s  %7s  %-5s  %s\n", string_field(vm, "id"), name ? name : "-",
	       state, pid_text, age, command);
}

static bool shown(const struct ps_options *o, struct json_object *vm)
{
	const char *state = string_field(vm, "state");

	if (o->all || o->state != NULL)
		return true;
	return state != NULL && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0);
}

static int ps_command(int argc, char **argv, struct common *c)
{
	static const struct option own[] = {{"all", no_argument, NULL, 'a'},
					    {"quiet", no_argument, NULL, 'q'},
					    {"label", required_argument, NULL, OPT_LABEL},
					    {"state", required_argument, NULL, OPT_STATE},
					    {0}};
	struct ps_options o = {0};
	char path[PATH_SIZE] = "/v1/vms", query[PATH_SIZE];
	struct daemon_reply reply;
	struct json_object *vms;
	int next = parse("ps", argc, argv, "aq", own, c, ps_take, &o);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next < argc)
		return usage("ps", "unexpected argument '%s'", argv[next]);
	if (open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	for (int i = 0; i < 2; i++) {
		const char *value = i == 0 ? o.state : o.label;

		if (value == NULL)
			continue;
		if (daemon_path(&c->client, query, sizeof(query), i == 0 ? "state=%s" : "label=%s",
				value) < 0)
			return usage("ps", "filter too long: '%s'", value);
		strncat(path, strchr(path, '?') ? "&" : "?", sizeof(path) - strlen(path) - 1);
		strncat(path, query, sizeof(path) - strlen(path) - 1);
	}
	if (daemon_call(&c->client, "GET", path, NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200 || !json_object_object_get_ex(reply.body, "vms", &vms))
		return refused("ps", NULL, &reply);
	if (!o.quiet)
		printf("%-12s  %-16s  %-10s  %7s  %-5s  %s\n", "ID", "NAME", "STATE", "PID", "AGE",
		       "COMMAND");
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		if (!shown(&o, vm))
			continue;
		if (o.quiet)
			printf("%s\n", string_field(vm, "id"));
		else
			print_vm_row(vm, (double)time(NULL));
	}
	json_object_put(reply.body);
	return 0;
}

/* ---- logs, and start's attached output ---- */

static volatile sig_atomic_t pending_signal;

static void remember_signal(int signo)
{
	pending_signal = signo;
}

struct log_printer {
	struct common *c;
	const char *vm;
	struct daemon_client signaller; /* forwards a signal while the stream runs */
	bool forwarding;
};

static int print_log_line(struct json_object *line, void *arg)
{
	struct json_object *partial;
	const char *stream = string_field(line, "stream"), *text = string_field(line, "line");
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

/* A signal that reached this command goes on to the VM (as Ctrl-C in
 * 'lispvm run' reaches the program). */
static void forward_signal(void *arg)
{
	struct log_printer *p = arg;
	int signo = pending_signal;
	struct json_object *body;
	struct daemon_reply reply;
	char path[PATH_SIZE];

	if (!p->forwarding || signo == 0)
		return;
	pending_signal = 0;
	body = json_object_new_object();
	json_object_object_add(body, "signal", json_object_new_string(signal_name(signo)));
	if (daemon_path(&p->signaller, path, sizeof(path), "/v1/vms/%s/kill", p->vm) == 0 &&
	    daemon_call(&p->signaller, "POST", path, body, &reply) == 0)
		json_object_put(reply.body);
	json_object_put(body);
}

/* The VM's output so far (and on until it ends, with follow). */
static int stream_logs(struct common *c, const char *vm, bool follow, struct log_printer *p)
{
	char path[PATH_SIZE];
	struct daemon_stream stream = {
		.each_line = print_log_line, .poll = forward_signal, .arg = p};
	struct daemon_reply reply = {0};

	if (daemon_path(&c->client, path, sizeof(path),
			follow ? "/v1/vms/%s/logs?follow=1" : "/v1/vms/%s/logs", vm) < 0) {
		log_error("%s: VM name too long", vm);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (daemon_stream_lines(&c->client, path, &stream, &reply.status, &reply.body) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200)
		return refused("logs", vm, &reply);
	json_object_put(reply.body);
	return 0;
}

static int logs_take(int opt, const char *arg, void *ctx)
{
	(void)arg;
	if (opt == 'f')
		*(bool *)ctx = true;
	return 0;
}

static int logs_command(int argc, char **argv, struct common *c)
{
	static const struct option own[] = {{"follow", no_argument, NULL, 'f'}, {0}};
	struct log_printer printer = {.c = c};
	bool follow = false;
	int next = parse("logs", argc, argv, "f", own, c, logs_take, &follow);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next != argc - 1)
		return usage("logs", "%s", "give one VM (lispvm logs [-f] VM)");
	if (open_client(c) < 0)
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
		usage("start", option, arg);
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
static int run_attached(struct common *c, const char *id)
{
	struct log_printer printer = {.c = c, .vm = id, .forwarding = true};
	struct sigaction sa = {.sa_handler = remember_signal};
	struct daemon_reply reply;
	int status;

	if (daemon_client_open(&printer.signaller, c->client.socket_path) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	sigemptyset(&sa.sa_mask);
	for (int signo = SIGHUP; signo <= SIGTERM; signo++)
		if (signal_name(signo) != NULL)
			sigaction(signo, &sa, NULL);
	status = stream_logs(c, id, true, &printer);
	daemon_client_close(&printer.signaller);
	if (status != 0)
		return status;
	if (call_vm(c, "POST", id, "wait", NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200)
		return refused("start", id, &reply);
	status = exit_status_of(reply.body);
	json_object_put(reply.body);
	return status;
}

static int start_command(int argc, char **argv, struct common *c)
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
	int next = parse("start", argc, argv, "dn:m:", own, c, start_take, &o), status;
	const char *id;
	char *id_copy;

	if (next < 0) {
		json_object_put(o.spec);
		return LISPVM_EXIT_USAGE;
	}
	if ((o.eval != NULL) == (next < argc)) {
		json_object_put(o.spec);
		return usage("start", "%s", "give a PROGRAM [ARGS...] or --eval FORMS, not both");
	}
	if (o.eval != NULL) {
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
	if (open_client(c) < 0 || daemon_call(&c->client, "POST", "/v1/vms", o.spec, &reply) < 0) {
		json_object_put(o.spec);
		return LISPVM_EXIT_HOST_ERROR;
	}
	json_object_put(o.spec);
	if (reply.status != 201 || (id = string_field(reply.body, "id")) == NULL)
		return refused("start", NULL, &reply);
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

/* ---- stop, kill, wait, inspect, rm: one or more VMs ---- */

struct each_options {
	double grace;	     /* stop: -1 for the daemon's default */
	const char *signal;  /* kill */
	const char *timeout; /* wait */
	bool force;	     /* rm */
};

static int each_take(int opt, const char *arg, void *ctx)
{
	struct each_options *o = ctx;
	char *end;

	switch (opt) {
	case 't':
		o->grace = strtod(arg, &end);
		if (*arg == '\0' || *end != '\0' || !(o->grace >= 0 && o->grace <= 3600)) {
			usage("stop", "--time: '%s' is not seconds from 0 to 3600", arg);
			return -1;
		}
		return 0;
	case 's':
		o->signal = strncmp(arg, "SIG", 3) == 0 ? arg + 3 : arg;
		return 0;
	case OPT_TIMEOUT:
		o->timeout = arg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	}
	return 0;
}

/* One VM's operation; its answer (the VM) printed as the command says. */
typedef int (*vm_operation)(struct common *c, const char *vm, const struct each_options *o);

static int expect_vm(const char *command, const char *vm, struct daemon_reply *reply, long want)
{
	if (reply->status != want)
		return refused(command, vm, reply);
	return 0;
}

static int stop_one(struct common *c, const char *vm, const struct each_options *o)
{
	struct json_object *body = json_object_new_object();
	struct daemon_reply reply;
	int rc;

	if (o->grace >= 0)
		json_object_object_add(body, "grace", json_object_new_double(o->grace));
	rc = call_vm(c, "POST", vm, "stop", body, &reply);
	json_object_put(body);
	if (rc < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status == 409) { /* it had ended already: stopped, as asked */
		json_object_put(reply.body);
		reply.status = 200;
	} else if ((rc = expect_vm("stop", vm, &reply, 200)) != 0) {
		return rc;
	} else {
		json_object_put(reply.body);
	}
	printf("%s\n", vm);
	return 0;
}

static int kill_one(struct common *c, const char *vm, const struct each_options *o)
{
	struct json_object *body = json_object_new_object();
	struct daemon_reply reply;
	int rc;

	if (o->signal != NULL)
		json_object_object_add(body, "signal", json_object_new_string(o->signal));
	rc = call_vm(c, "POST", vm, "kill", body, &reply);
	json_object_put(body);
	if (rc < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if ((rc = expect_vm("kill", vm, &reply, 200)) != 0)
		return rc;
	json_object_put(reply.body);
	printf("%s\n", vm);
	return 0;
}

/* Prints the VM's exit status; returns it. */
static int wait_one(struct common *c, const char *vm, const struct each_options *o)
{
	char what[64] = "wait";
	struct daemon_reply reply;
	int rc, status;

	if (o->timeout != NULL)
		snprintf(what, sizeof(what), "wait?timeout=%s", o->timeout);
	if (call_vm(c, "POST", vm, what, NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if ((rc = expect_vm("wait", vm, &reply, 200)) != 0)
		return rc;
	status = exit_status_of(reply.body);
	json_object_put(reply.body);
	printf("%d\n", status);
	return status;
}

static int remove_one(struct common *c, const char *vm, const struct each_options *o)
{
	struct daemon_reply reply;

	if (o->force) {
		if (call_vm(c, "POST", vm, "kill", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		json_object_put(reply.body); /* 409: it had ended */
		if (call_vm(c, "POST", vm, "wait", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		json_object_put(reply.body);
	}
	if (call_vm(c, "DELETE", vm, "", NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200 && reply.status != 204)
		return refused("rm", vm, &reply);
	json_object_put(reply.body);
	printf("%s\n", vm);
	return 0;
}

static int each_vm(const char *command, int argc, char **argv, struct common *c)
{
	static const struct option own[] = {{"time", required_argument, NULL, 't'},
					    {"signal", required_argument, NULL, 's'},
					    {"timeout", required_argument, NULL, OPT_TIMEOUT},
					    {"force", no_argument, NULL, 'f'},
					    {0}};
	static const struct {
		const char *command, *shortopts;
		vm_operation operation;
	} commands[] = {{"stop", "t:", stop_one},
			{"kill", "s:", kill_one},
			{"wait", "", wait_one},
			{"rm", "f", remove_one}};
	struct each_options o = {.grace = -1};
	int status = 0, next;
	size_t k = 0;

	while (strcmp(commands[k].command, command) != 0)
		k++;
	next = parse(command, argc, argv, commands[k].shortopts, own, c, each_take, &o);
	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next == argc)
		return usage(command, "%s", "give at least one VM (its name or ID)");
	if (open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	for (int i = next; i < argc; i++) {
		int one = commands[k].operation(c, argv[i], &o);

		/* wait: the last VM's status; the others: any failure. */
		if (strcmp(command, "wait") == 0 || one != 0)
			status = one;
	}
	return status;
}

static int inspect_command(int argc, char **argv, struct common *c)
{
	struct json_object *all;
	int next = parse("inspect", argc, argv, "", NULL, c, no_options, NULL), status = 0;

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next == argc)
		return usage("inspect", "%s", "give at least one VM (its name or ID)");
	if (open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	all = json_object_new_array();
	for (int i = next; i < argc; i++) {
		struct daemon_reply reply;

		if (call_vm(c, "GET", argv[i], "", NULL, &reply) < 0) {
			status = LISPVM_EXIT_HOST_ERROR;
			break;
		}
		if (reply.status != 200) {
			status = refused("inspect", argv[i], &reply);
			continue;
		}
		json_object_array_add(all, reply.body);
	}
	printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	return status;
}

/* ---- the commands ---- */

static const char *const commands[] = {"ps",   "start",	  "stop", "kill", "wait",
				       "logs", "inspect", "rm",	  NULL};

bool daemon_command_known(const char *command)
{
	for (size_t i = 0; commands[i] != NULL; i++)
		if (strcmp(commands[i], command) == 0)
			return true;
	return false;
}

int daemon_command_main(int argc, char **argv)
{
	struct common c = {0};
	const char *command = argv[0];
	int status;

	if (strcmp(command, "ps") == 0)
		status = ps_command(argc, argv, &c);
	else if (strcmp(command, "start") == 0)
		status = start_command(argc, argv, &c);
	else if (strcmp(command, "logs") == 0)
		status = logs_command(argc, argv, &c);
	else if (strcmp(command, "inspect") == 0)
		status = inspect_command(argc, argv, &c);
	else
		status = each_vm(command, argc, argv, &c);
	daemon_client_close(&c.client);
	return status;
}
