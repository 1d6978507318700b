/* SPDX-License-Identifier: MIT */
#include "daemon_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lispvm/abi.h>

#include "daemon_session.h"
#include "daemon_start.h"
#include "daemon_pools.h"
#include "daemon_stats.h"

/* A field to print: its text, or "?" (the daemon's answer is not trusted). */
static const char *shown(struct json_object *o, const char *key)
{
	const char *text = json_string_field(o, key);

	return text != NULL ? text : "?";
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
	const char *state = json_string_field(vm, "state");
	int64_t n;

	if (state != NULL && strcmp(state, "exited") == 0 && json_int_field(vm, "exit_code", &n))
		snprintf(buf, size, "exited %lld", (long long)n);
	else if (state != NULL && strcmp(state, "exited") == 0 && json_int_field(vm, "signal", &n))
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
	program = json_string_field(spec, "program");
	forms = json_string_field(spec, "eval");
	snprintf(buf, size, "%s%s", program ? program : "eval ", program ? "" : forms ? forms : "");
	if (program != NULL && json_object_object_get_ex(spec, "args", &args) &&
	    json_object_is_type(args, json_type_array))
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
	char state[32], age[24], command[100], pid_text[24] = "-";
	const char *name = json_string_field(vm, "name");
	int64_t pid;

	format_state(vm, state, sizeof(state));
	format_age(now - json_number_field(vm, "created"), age, sizeof(age));
	format_command(vm, command, sizeof(command));
	if (json_int_field(vm, "pid", &pid))
		snprintf(pid_text, sizeof(pid_text), "%lld", (long long)pid);
	printf("%-12s  %-16s  %-10s  %7s  %-5s  %s\n", shown(vm, "id"), name ? name : "-", state,
	       pid_text, age, command);
}

static bool listed(const struct ps_options *o, struct json_object *vm)
{
	const char *state = json_string_field(vm, "state");

	if (o->all || o->state != NULL)
		return true;
	return state != NULL && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0);
}

static int ps_command(int argc, char **argv, struct daemon_session *c)
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
	int next = daemon_parse_options("ps", argc, argv, "aq", own, c, ps_take, &o);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next < argc)
		return daemon_usage("ps", "unexpected argument '%s'", argv[next]);
	if (daemon_open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	for (int i = 0; i < 2; i++) {
		const char *value = i == 0 ? o.state : o.label;

		if (value == NULL)
			continue;
		if (daemon_path(&c->client, query, sizeof(query), i == 0 ? "state=%s" : "label=%s",
				value) < 0)
			return daemon_usage("ps", "filter too long: '%s'", value);
		strncat(path, strchr(path, '?') ? "&" : "?", sizeof(path) - strlen(path) - 1);
		strncat(path, query, sizeof(path) - strlen(path) - 1);
	}
	if (daemon_call(&c->client, "GET", path, NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200 || !json_object_object_get_ex(reply.body, "vms", &vms) ||
	    !json_object_is_type(vms, json_type_array))
		return daemon_refused("ps", NULL, &reply);
	if (!o.quiet)
		printf("%-12s  %-16s  %-10s  %7s  %-5s  %s\n", "ID", "NAME", "STATE", "PID", "AGE",
		       "COMMAND");
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		if (!listed(&o, vm))
			continue;
		if (o.quiet)
			printf("%s\n", shown(vm, "id"));
		else
			print_vm_row(vm, (double)time(NULL));
	}
	json_object_put(reply.body);
	return 0;
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
			daemon_usage("stop", "--time: '%s' is not seconds from 0 to 3600", arg);
			return -1;
		}
		return 0;
	case 's':
		o->signal = strncmp(arg, "SIG", 3) == 0 ? arg + 3 : arg;
		return 0;
	case OPT_TIMEOUT:
		/* It goes into the URL: a number, nothing else. */
		if (*arg == '\0' || strspn(arg, "0123456789.") != strlen(arg) ||
		    !(strtod(arg, NULL) <= 86400)) {
			daemon_usage("wait", "--timeout: '%s' is not seconds from 0 to 86400", arg);
			return -1;
		}
		o->timeout = arg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	}
	return 0;
}

/* One VM's operation; its answer (the VM) printed as the command says. */
typedef int (*vm_operation)(struct daemon_session *c, const char *vm, const struct each_options *o);

static int expect_vm(const char *command, const char *vm, struct daemon_reply *reply, long want)
{
	if (reply->status != want)
		return daemon_refused(command, vm, reply);
	return 0;
}

static int stop_one(struct daemon_session *c, const char *vm, const struct each_options *o)
{
	struct json_object *body = json_object_new_object();
	struct daemon_reply reply;
	int rc;

	if (o->grace >= 0)
		json_object_object_add(body, "grace", json_object_new_double(o->grace));
	rc = daemon_call_vm(c, "POST", vm, "stop", body, &reply);
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

static int kill_one(struct daemon_session *c, const char *vm, const struct each_options *o)
{
	struct json_object *body = json_object_new_object();
	struct daemon_reply reply;
	int rc;

	if (o->signal != NULL)
		json_object_object_add(body, "signal", json_object_new_string(o->signal));
	rc = daemon_call_vm(c, "POST", vm, "kill", body, &reply);
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
static int wait_one(struct daemon_session *c, const char *vm, const struct each_options *o)
{
	char what[64] = "wait";
	struct daemon_reply reply;
	int rc, status;

	if (o->timeout != NULL)
		snprintf(what, sizeof(what), "wait?timeout=%s", o->timeout);
	if (daemon_call_vm(c, "POST", vm, what, NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if ((rc = expect_vm("wait", vm, &reply, 200)) != 0)
		return rc;
	status = vm_exit_status(reply.body);
	json_object_put(reply.body);
	printf("%d\n", status);
	return status;
}

static int remove_one(struct daemon_session *c, const char *vm, const struct each_options *o)
{
	struct daemon_reply reply;

	if (o->force) {
		if (daemon_call_vm(c, "POST", vm, "kill", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		json_object_put(reply.body); /* 409: it had ended */
		if (daemon_call_vm(c, "POST", vm, "wait", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		json_object_put(reply.body);
	}
	if (daemon_call_vm(c, "DELETE", vm, "", NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200 && reply.status != 204)
		return daemon_refused("rm", vm, &reply);
	json_object_put(reply.body);
	printf("%s\n", vm);
	return 0;
}

static int each_vm(const char *command, int argc, char **argv, struct daemon_session *c)
{
	static const struct option stop[] = {{"time", required_argument, NULL, 't'}, {0}};
	static const struct option kill[] = {{"signal", required_argument, NULL, 's'}, {0}};
	static const struct option wait[] = {{"timeout", required_argument, NULL, OPT_TIMEOUT},
					     {0}};
	static const struct option rm[] = {{"force", no_argument, NULL, 'f'}, {0}};
	static const struct {
		const char *command, *shortopts;
		const struct option *own;
		vm_operation operation;
	} commands[] = {{"stop", "t:", stop, stop_one},
			{"kill", "s:", kill, kill_one},
			{"wait", "", wait, wait_one},
			{"rm", "f", rm, remove_one}};
	struct each_options o = {.grace = -1};
	int status = 0, next;
	size_t k = 0;

	while (strcmp(commands[k].command, command) != 0)
		k++;
	next = daemon_parse_options(command, argc, argv, commands[k].shortopts, commands[k].own, c,
				    each_take, &o);
	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next == argc)
		return daemon_usage(command, "%s", "give at least one VM (its name or ID)");
	if (daemon_open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	for (int i = next; i < argc; i++) {
		int one = commands[k].operation(c, argv[i], &o);

		/* wait: the last VM's status; the others: any failure. */
		if (strcmp(command, "wait") == 0 || one != 0)
			status = one;
	}
	return status;
}

static int inspect_command(int argc, char **argv, struct daemon_session *c)
{
	struct json_object *all;
	int next = daemon_parse_options("inspect", argc, argv, "", NULL, c, daemon_no_options,
					NULL),
	    status = 0;

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next == argc)
		return daemon_usage("inspect", "%s", "give at least one VM (its name or ID)");
	if (daemon_open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	all = json_object_new_array();
	for (int i = next; i < argc; i++) {
		struct daemon_reply reply;

		if (daemon_call_vm(c, "GET", argv[i], "", NULL, &reply) < 0) {
			status = LISPVM_EXIT_HOST_ERROR;
			break;
		}
		if (reply.status != 200) {
			status = daemon_refused("inspect", argv[i], &reply);
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

/* ---- events ---- */

struct events_options {
	const char *since;
	bool json;
};

static int events_take(int opt, const char *arg, void *ctx)
{
	struct events_options *o = ctx;

	if (opt == OPT_SINCE)
		o->since = arg;
	else if (opt == OPT_JSON)
		o->json = true;
	return 0;
}

/* " (exited 3)" after an exit; " (pressure: 80.1 MiB -> 12.0 MiB)" after a
 * collection; else nothing. */
static void format_reclaimed(struct json_object *event, const char *state, char *buf, size_t size)
{
	struct json_object *r = NULL;
	int64_t before, after;

	buf[0] = '\0';
	if (state != NULL) {
		snprintf(buf, size, " (%s)", state);
		return;
	}
	if (!json_object_object_get_ex(event, "reclaimed", &r) || r == NULL)
		return;
	if (json_int_field(r, "rss_before", &before) && json_int_field(r, "rss_after", &after))
		snprintf(buf, size, " (%s: %.1f MiB -> %.1f MiB)", shown(r, "why"),
			 (double)before / (1 << 20), (double)after / (1 << 20));
	else
		snprintf(buf, size, " (%s)", shown(r, "why"));
}

/* "2026-12-03T19:30:01 exited 3f2a9c1b0d4e web (exited 3)", or the JSON. */
static int print_event(struct json_object *event, void *arg)
{
	const struct events_options *o = arg;
	struct json_object *vm = NULL;
	char when[32] = "?", state[32], detail[96];
	time_t t = (time_t)json_number_field(event, "time");
	const char *name;
	struct tm tm;
	bool exited;

	if (o->json) {
		printf("%s\n",
		       json_object_to_json_string_ext(
			       event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(stdout);
		return 0;
	}
	json_object_object_get_ex(event, "vm", &vm);
	name = json_string_field(vm, "name");
	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	format_state(vm, state, sizeof(state));
	exited = strcmp(shown(event, "type"), "exited") == 0;
	format_reclaimed(event, exited ? state : NULL, detail, sizeof(detail));
	printf("%s  %-9s %s %s%s\n", when, shown(event, "type"), shown(vm, "id"), name ? name : "-",
	       detail);
	fflush(stdout);
	return 0;
}

static int events_command(int argc, char **argv, struct daemon_session *c)
{
	static const struct option own[] = {{"since", required_argument, NULL, OPT_SINCE},
					    {"json", no_argument, NULL, OPT_JSON},
					    {0}};
	struct events_options o = {0};
	struct daemon_stream stream = {.each_line = print_event, .arg = &o};
	char path[PATH_SIZE] = "/v1/events";
	int next = daemon_parse_options("events", argc, argv, "", own, c, events_take, &o);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next < argc)
		return daemon_usage("events", "unexpected argument '%s'", argv[next]);
	if (daemon_open_client(c) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (o.since != NULL &&
	    daemon_path(&c->client, path, sizeof(path), "/v1/events?since=%s", o.since) < 0)
		return daemon_usage("events", "--since: '%s' is too long", o.since);
	return daemon_stream_ok(c, "events", NULL, path, &stream);
}

/* ---- the commands ---- */

static const char *const commands[] = {"ps",	  "start", "stop",   "kill",  "wait",  "logs",
				       "inspect", "rm",	   "events", "stats", "pools", NULL};

bool daemon_command_known(const char *command)
{
	for (size_t i = 0; commands[i] != NULL; i++)
		if (strcmp(commands[i], command) == 0)
			return true;
	return false;
}

int daemon_command_main(int argc, char **argv)
{
	struct daemon_session c = {0};
	const char *command = argv[0];
	int status;

	if (strcmp(command, "ps") == 0)
		status = ps_command(argc, argv, &c);
	else if (strcmp(command, "start") == 0)
		status = daemon_start_command(argc, argv, &c);
	else if (strcmp(command, "logs") == 0)
		status = daemon_logs_command(argc, argv, &c);
	else if (strcmp(command, "inspect") == 0)
		status = inspect_command(argc, argv, &c);
	else if (strcmp(command, "events") == 0)
		status = events_command(argc, argv, &c);
	else if (strcmp(command, "stats") == 0)
		status = daemon_stats_command(argc, argv, &c);
	else if (strcmp(command, "pools") == 0)
		status = daemon_pools_command(argc, argv, &c);
	else
		status = each_vm(command, argc, argv, &c);
	daemon_client_close(&c.client);
	return status;
}
