/* SPDX-License-Identifier: MIT */
#include "snapshot_request.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lispvm_command.h"
#include "vm_spec.h"
#include "vm_table.h"

/* A big VM's snapshot (and its --gc) under emulation takes minutes. */
#define SAVE_TIMEOUT_S 900
/* How long a VM asked to stop after its snapshot may take to end. */
#define STOP_WAIT_MS 30000

struct snapshot_options {
	const char *file, *diff;
	bool stop, gc;
};

static bool no_caller_check(void *unused)
{
	(void)unused;
	return false;
}

/* The body's fields, each of its type: 0, or -1 with err. */
static int parse(struct json_object *body, struct snapshot_options *o, char *err, size_t err_size)
{
	struct json_object *v;

	if (body == NULL || !json_object_object_get_ex(body, "file", &v) || !vm_spec_is_path(v) ||
	    strchr(json_object_get_string(v), '\n') != NULL) {
		snprintf(err, err_size, "file: the absolute path to save the VM in is required");
		return -1;
	}
	o->file = json_object_get_string(v);
	json_object_object_foreach(body, key, value)
	{
		bool is_bool = json_object_is_type(value, json_type_boolean);

		if (strcmp(key, "file") == 0)
			continue;
		if (strcmp(key, "diff") == 0 && vm_spec_is_path(value) &&
		    strchr(json_object_get_string(value), '\n') == NULL)
			o->diff = json_object_get_string(value);
		else if (strcmp(key, "stop") == 0 && is_bool)
			o->stop = json_object_get_boolean(value);
		else if (strcmp(key, "gc") == 0 && is_bool)
			o->gc = json_object_get_boolean(value);
		else {
			snprintf(err, err_size,
				 strcmp(key, "diff") == 0 || strcmp(key, "stop") == 0 ||
						 strcmp(key, "gc") == 0
					 ? "%.64s: wrong type (diff: an absolute path; stop, gc: "
					   "booleans)"
					 : "unknown field %.64s",
				 key);
			return -1;
		}
	}
	return 0;
}

static unsigned int save(const struct vm_target *t, const struct snapshot_options *o, char *line,
			 size_t line_size)
{
	const char *argv[10];
	size_t n = 0;

	argv[n++] = vm_table_lispvm();
	argv[n++] = "snapshot";
	argv[n++] = t->lispvm_name;
	argv[n++] = "-o";
	argv[n++] = o->file;
	if (o->diff != NULL) {
		argv[n++] = "--diff";
		argv[n++] = o->diff;
	}
	if (o->stop)
		argv[n++] = "--stop";
	if (o->gc)
		argv[n++] = "--gc";
	argv[n] = NULL;
	return lispvm_command_run(argv, t->uid, SAVE_TIMEOUT_S, line, line_size) == 0 ? 0 : 502;
}

unsigned int snapshot_request_run(uid_t uid, const char *ref, struct json_object *body,
				  struct json_object **out, char *err, size_t err_size)
{
	struct snapshot_options o = {0};
	struct vm_target t;
	char line[1024];

	if (parse(body, &o, err, err_size) < 0)
		return 400;
	if (vm_table_target(uid, ref, &t) != 0) {
		snprintf(err, err_size, "no such VM: %s", ref);
		return 404;
	}
	if (t.pid == 0 || !t.attachable) {
		snprintf(err, err_size, "%s",
			 t.pid == 0 ? "the VM is not running (it is starting, or has ended)"
				    : "only a VM created with \"attachable\": true can be saved "
				      "(its VMM then serves a control socket)");
		return 409;
	}
	if (save(&t, &o, line, sizeof(line)) != 0) {
		snprintf(err, err_size, "%s", line);
		return 502;
	}
	if (o.stop)
		vm_table_wait(uid, t.id, STOP_WAIT_MS, no_caller_check, NULL);
	*out = json_object_new_object();
	json_object_object_add(*out, "file", json_object_new_string(o.file));
	json_object_object_add(*out, "saved", json_object_new_string(line));
	json_object_object_add(*out, "vm", vm_table_describe(uid, t.id));
	return 0;
}
