/* SPDX-License-Identifier: MIT */
#include "api.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "lispvmd_config.h"
#include "attach_session.h"
#include "events.h"
#include "memory_reclaim.h"
#include "snapshot_request.h"
#include "log_follow.h"
#include "vm_spec.h"
#include "vm_pool.h"
#include "vm_table.h"
#include "vm_user.h"

#define MAX_METHODS	   4
#define STOP_GRACE_DEFAULT 10
#define STOP_GRACE_MAX	   3600
#define KILL_WAIT_MS	   10000

struct path_routes {
	const char *pattern; /* '*' stands for one segment: a VM's ID or name */
	const char *allow;   /* the methods below, for 405's Allow */
	struct {
		const char *method;
		http_route_fn fn;
	} methods[MAX_METHODS];
};

static void get_version(const struct http_request *req, struct http_reply *reply)
{
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "version", json_object_new_string(LISPVM_VERSION));
	json_object_object_add(body, "abi", json_object_new_int(LISPVM_ABI_VERSION));
	json_object_object_add(body, "uid", json_object_new_int64((int64_t)req->uid));
	reply->body = body;
}

/* The daemon's own user, or root: who may set its pools and see them all. */
static bool daemons_owner(uid_t uid)
{
	return uid == vm_user_owner() || uid == 0;
}

/* The pools' state is the daemon's, not a user's: the daemon's own user
 * and root see it all; a user whose VMs run as them (another user of a
 * root daemon) takes no warm VM and sees no pool. */
static void get_pools(const struct http_request *req, struct http_reply *reply)
{
	bool owner = daemons_owner(req->uid);

	if (owner || vm_user_runs_as(req->uid) == vm_user_owner())
		reply->body = vm_pool_status(owner);
	else {
		reply->body = json_object_new_object();
		json_object_object_add(reply->body, "pools", json_object_new_array());
	}
}

/* The caller may have VMs here.  A root daemon serves every user, each
 * VM run as its caller (vm_user.h); a daemon of another user runs every
 * VM as itself, so it serves only itself and root. */
static bool serves(const struct http_request *req, struct http_reply *reply)
{
	char why[160];

	if (vm_user_unmapped(req->uid) && req->uid != vm_user_owner()) {
		/* Callers of every other user namespace look alike. */
		snprintf(why, sizeof(why),
			 "uid %u is the kernel's overflow uid: a caller whose uid this daemon "
			 "cannot know (another user namespace) is refused",
			 (unsigned int)req->uid);
		http_reply_error(reply, 403, why);
		return false;
	}
	if (vm_user_owner() == 0 || daemons_owner(req->uid))
		return true;
	snprintf(why, sizeof(why),
		 "this lispvmd serves uid %u only; run your own (lispvmd --socket) or use "
		 "root's",
		 (unsigned int)vm_user_owner());
	http_reply_error(reply, 403, why);
	return false;
}

static void no_such_vm(const struct http_request *req, struct http_reply *reply)
{
	char why[128];

	snprintf(why, sizeof(why), "no VM %s", req->param);
	http_reply_error(reply, 404, why);
}

/* The body may hold only these keys (NULL-terminated). */
static bool only_keys(struct json_object *body, const char *const *keys, struct http_reply *reply)
{
	if (body == NULL)
		return true;
	json_object_object_foreach(body, key, value)
	{
		bool known = false;

		(void)value;
		for (size_t i = 0; keys[i] != NULL; i++)
			known = known || strcmp(keys[i], key) == 0;
		if (!known) {
			char why[128];

			snprintf(why, sizeof(why), "unknown field %.64s", key);
			http_reply_error(reply, 400, why);
			return false;
		}
	}
	return true;
}

static void create_vm(const struct http_request *req, struct http_reply *reply)
{
	char why[512];
	unsigned int status;

	if (!serves(req, reply))
		return;
	if (vm_spec_check(req->body, why, sizeof(why)) < 0) {
		http_reply_error(reply, 400, why);
		return;
	}
	/* A warm VM when a pool has one ready for it, else a cold start. */
	status = vm_pool_take(req->uid, req->body, &reply->body, why, sizeof(why));
	if (status == VM_POOL_NONE_READY)
		status = vm_table_create(req->uid, req->body, &reply->body, why, sizeof(why));
	if (status != 0)
		http_reply_error(reply, status, why);
	else
		reply->status = 201;
}

static void list_vms(const struct http_request *req, struct http_reply *reply)
{
	static const char *const states[] = {"starting", "running", "exited", "lost", NULL};
	const char *state = http_request_arg(req, "state");
	bool known = state == NULL;

	if (!serves(req, reply))
		return;
	for (size_t i = 0; states[i] != NULL && !known; i++)
		known = strcmp(states[i], state) == 0;
	if (!known) {
		http_reply_error(reply, 400, "state: one of starting, running, exited, lost");
		return;
	}
	reply->body = vm_table_list(req->uid, state, http_request_arg(req, "label"));
}

static void inspect_vm(const struct http_request *req, struct http_reply *reply)
{
	if (!serves(req, reply))
		return;
	reply->body = vm_table_describe(req->uid, req->param);
	if (reply->body == NULL)
		no_such_vm(req, reply);
}

static void remove_vm(const struct http_request *req, struct http_reply *reply)
{
	unsigned int status;

	if (!serves(req, reply))
		return;
	status = vm_table_remove(req->uid, req->param);
	if (status == 404)
		no_such_vm(req, reply);
	else if (status == 409)
		http_reply_error(reply, 409, "the VM still runs: stop or kill it first");
	else {
		reply->body = json_object_new_object();
		json_object_object_add(reply->body, "removed", json_object_new_string(req->param));
	}
}

static bool caller_gone(void *req)
{
	return http_request_gone(req);
}

/* After the VM ended: its description; else the error for status. */
static void reply_ended(const struct http_request *req, struct http_reply *reply,
			unsigned int status, const char *timeout_why)
{
	if (status == 0)
		inspect_vm(req, reply);
	else if (status == 404)
		no_such_vm(req, reply);
	else if (status == 408)
		http_reply_error(reply, 408, timeout_why);
	else if (status == 503)
		http_reply_error(reply, 503, "lispvmd is ending");
	else
		http_reply_error(reply, 400, "the caller left");
}

static void wait_vm(const struct http_request *req, struct http_reply *reply)
{
	const char *arg = http_request_arg(req, "timeout");
	char *end;
	double seconds = arg != NULL ? strtod(arg, &end) : -1;

	if (!serves(req, reply))
		return;
	if (arg != NULL && (*arg == '\0' || *end != '\0' || !(seconds >= 0 && seconds <= 86400))) {
		http_reply_error(reply, 400, "timeout: seconds, from 0 to 86400");
		return;
	}
	reply_ended(req, reply,
		    vm_table_wait(req->uid, req->param, seconds < 0 ? -1 : (int)(seconds * 1000),
				  caller_gone, (void *)req),
		    "the VM still runs after the timeout");
}

/* A number field of the body, in [min, max], or def when absent. */
static bool number_field(struct json_object *body, const char *key, double min, double max,
			 double def, double *out, struct http_reply *reply)
{
	struct json_object *v;

	*out = def;
	if (body == NULL || !json_object_object_get_ex(body, key, &v))
		return true;
	if ((!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) ||
	    json_object_get_double(v) < min || json_object_get_double(v) > max) {
		char why[128];

		snprintf(why, sizeof(why), "%s: a number from %g to %g", key, min, max);
		http_reply_error(reply, 400, why);
		return false;
	}
	*out = json_object_get_double(v);
	return true;
}

static bool signal_failed(const struct http_request *req, struct http_reply *reply,
			  unsigned int status)
{
	if (status == 404)
		no_such_vm(req, reply);
	else if (status == 409)
		http_reply_error(reply, 409, "the VM has ended");
	return status != 0;
}

/* SIGTERM (the program gets it), then SIGKILL after the grace period. */
static void stop_vm(const struct http_request *req, struct http_reply *reply)
{
	static const char *const keys[] = {"grace", NULL};
	double grace;
	unsigned int status;

	if (!serves(req, reply))
		return;
	if (!only_keys(req->body, keys, reply) ||
	    !number_field(req->body, "grace", 0, STOP_GRACE_MAX, STOP_GRACE_DEFAULT, &grace,
			  reply) ||
	    signal_failed(req, reply, vm_table_signal(req->uid, req->param, SIGTERM)))
		return;
	status = vm_table_wait(req->uid, req->param, (int)(grace * 1000), caller_gone, (void *)req);
	if (status == 408) {
		vm_table_signal(req->uid, req->param, SIGKILL);
		status =
			vm_table_wait(req->uid, req->param, KILL_WAIT_MS, caller_gone, (void *)req);
	}
	reply_ended(req, reply, status, "the VM did not end after SIGKILL");
}

static const struct {
	const char *name;
	int number;
} signals[] = {{"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},  {"HUP", SIGHUP},
	       {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};

static void kill_vm(const struct http_request *req, struct http_reply *reply)
{
	static const char *const keys[] = {"signal", NULL};
	struct json_object *v;
	int sig = 0;

	if (!serves(req, reply))
		return;
	if (!only_keys(req->body, keys, reply))
		return;
	if (req->body == NULL || !json_object_object_get_ex(req->body, "signal", &v))
		sig = SIGKILL;
	else if (json_object_is_type(v, json_type_string))
		for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
			if (strcmp(signals[i].name, json_object_get_string(v)) == 0)
				sig = signals[i].number;
	if (sig == 0) {
		http_reply_error(reply, 400,
				 "signal: one of KILL, TERM, INT, HUP, QUIT, USR1, USR2");
		return;
	}
	if (!signal_failed(req, reply, vm_table_signal(req->uid, req->param, sig)))
		inspect_vm(req, reply);
}

/* Streamed: with follow, until the VM ends or the caller leaves. */
static void vm_logs(const struct http_request *req, struct http_reply *reply)
{
	const char *follow = http_request_arg(req, "follow");
	char dir[PATH_MAX];

	if (!serves(req, reply))
		return;
	if (follow != NULL && strcmp(follow, "0") != 0 && strcmp(follow, "1") != 0) {
		http_reply_error(reply, 400, "follow: 0 or 1");
		return;
	}
	if (vm_table_dir(req->uid, req->param, dir, sizeof(dir)) != 0) {
		no_such_vm(req, reply);
		return;
	}
	reply->stream.cls =
		log_follow_open(dir, follow != NULL && strcmp(follow, "1") == 0, req->fd);
	if (reply->stream.cls == NULL) {
		http_reply_error(reply, 500, "out of memory");
		return;
	}
	reply->stream.read = log_follow_read;
	reply->stream.free = log_follow_close;
	reply->content_type = "application/x-ndjson";
}

/* Streamed until the caller leaves: lifecycle events, from now or after
 * ?since=SEQ. */
static void follow_events(const struct http_request *req, struct http_reply *reply)
{
	const char *since = http_request_arg(req, "since");
	long long from = -1;
	char *end;

	if (!serves(req, reply))
		return;
	if (since != NULL) {
		from = strtoll(since, &end, 10);
		if (*since == '\0' || *end != '\0' || from < 0) {
			http_reply_error(reply, 400, "since: a sequence number, 0 or more");
			return;
		}
	}
	reply->stream.cls = events_follow_open(req->uid, from, req->fd);
	if (reply->stream.cls == NULL) {
		http_reply_error(reply, 500, "out of memory");
		return;
	}
	reply->stream.read = events_follow_read;
	reply->stream.free = events_follow_close;
	reply->content_type = "application/x-ndjson";
}

/* A full garbage collection in the VM, now: what it gave back. */
static void gc_vm(const struct http_request *req, struct http_reply *reply)
{
	static const char *const keys[] = {NULL};
	char err[512];
	unsigned int status;

	if (!serves(req, reply) || !only_keys(req->body, keys, reply))
		return;
	status = memory_reclaim_vm(req->uid, req->param, &reply->body, err, sizeof(err));
	if (status == 404)
		no_such_vm(req, reply);
	else if (status != 0)
		http_reply_error(reply, status, err);
}

/* The caller's connection becomes a lispvm attach session with the VM's
 * agent (attach_session.h). */
static void attach_vm(const struct http_request *req, struct http_reply *reply)
{
	static const char *const keys[] = {NULL};
	struct vm_target t;
	char err[512];
	unsigned int status;

	if (!serves(req, reply) || !only_keys(req->body, keys, reply))
		return;
	if (vm_table_target(req->uid, req->param, &t) != 0) {
		no_such_vm(req, reply);
		return;
	}
	if (t.pid == 0) {
		http_reply_error(reply, 409,
				 "the VM is not running (it is starting, or has ended)");
		return;
	}
	if (!t.attachable) {
		http_reply_error(
			reply, 409,
			"the VM has no attach agent (create it with \"attachable\": true)");
		return;
	}
	if (!http_request_upgrades_to(req, ATTACH_PROTOCOL)) {
		http_reply_error(reply, 426,
				 "attaching switches the connection: send \"Connection: Upgrade\" "
				 "and \"Upgrade: " ATTACH_PROTOCOL "\"");
		reply->upgrade_required = ATTACH_PROTOCOL;
		return;
	}
	reply->upgrade.cls = attach_session_start(&t, &status, err, sizeof(err));
	if (reply->upgrade.cls == NULL) {
		http_reply_error(reply, status, err);
		return;
	}
	reply->status = 101;
	reply->upgrade.protocol = ATTACH_PROTOCOL;
	reply->upgrade.run = attach_session_run;
	reply->upgrade.free = attach_session_free;
}

/* The running VM saved in a file (lispvm snapshot). */
static void snapshot_vm(const struct http_request *req, struct http_reply *reply)
{
	char err[1024];
	unsigned int status;

	if (!serves(req, reply))
		return;
	status = snapshot_request_run(req->uid, req->param, req->body, &reply->body, err,
				      sizeof(err));
	if (status == 404)
		no_such_vm(req, reply);
	else if (status != 0)
		http_reply_error(reply, status, err);
}

/* The caller may set pools: warm VMs run as the daemon's user, from a
 * snapshot the daemon opens (a root daemon serves users it must not
 * run a file of theirs for, nor tell which paths exist). */
static bool owns_daemon(const struct http_request *req, struct http_reply *reply)
{
	if (daemons_owner(req->uid))
		return true;
	http_reply_error(reply, 403, "only the daemon's user and root set pools");
	return false;
}

/* A pool set by the daemon's own user or root: its warm VMs are theirs. */
static void put_pool(const struct http_request *req, struct http_reply *reply)
{
	static const char *const keys[] = {"snapshot", "size", NULL};
	struct json_object *snapshot, *size;
	char err[512];
	unsigned int status;

	if (!owns_daemon(req, reply) || !only_keys(req->body, keys, reply))
		return;
	if (req->body == NULL || !json_object_object_get_ex(req->body, "snapshot", &snapshot) ||
	    !vm_spec_is_path(snapshot) || !json_object_object_get_ex(req->body, "size", &size) ||
	    !json_object_is_type(size, json_type_int) || json_object_get_int64(size) < 0) {
		http_reply_error(reply, 400,
				 "a pool is {\"snapshot\": an absolute path, \"size\": a count}");
		return;
	}
	status = vm_pool_set(json_object_get_string(snapshot),
			     json_object_get_int64(size) > VM_POOL_MAX_SIZE
				     ? VM_POOL_MAX_SIZE + 1
				     : (unsigned int)json_object_get_int64(size),
			     err, sizeof(err));
	if (status != 0)
		http_reply_error(reply, status, err);
	else
		reply->body = vm_pool_status(true);
}

static const struct path_routes routes[] = {
	{"/v1/events", "GET", {{"GET", follow_events}}},
	{"/v1/version", "GET", {{"GET", get_version}}},
	{"/v1/pools", "GET, PUT", {{"GET", get_pools}, {"PUT", put_pool}}},
	{"/v1/vms", "GET, POST", {{"GET", list_vms}, {"POST", create_vm}}},
	{"/v1/vms/*", "GET, DELETE", {{"GET", inspect_vm}, {"DELETE", remove_vm}}},
	{"/v1/vms/*/wait", "POST", {{"POST", wait_vm}}},
	{"/v1/vms/*/stop", "POST", {{"POST", stop_vm}}},
	{"/v1/vms/*/kill", "POST", {{"POST", kill_vm}}},
	{"/v1/vms/*/gc", "POST", {{"POST", gc_vm}}},
	{"/v1/vms/*/snapshot", "POST", {{"POST", snapshot_vm}}},
	{"/v1/vms/*/attach", "POST", {{"POST", attach_vm}}},
	{"/v1/vms/*/logs", "GET", {{"GET", vm_logs}}},
};

/* Whether path fits pattern; the segment at '*' goes to param. */
static bool matches(const char *pattern, const char *path, char *param)
{
	while (*pattern != '\0') {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n > HTTP_MAX_PARAM)
				return false;
			memcpy(param, path, n);
			param[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *path == '\0';
}

http_route_fn api_route(const char *method, const char *path, char *param, unsigned int *status,
			const char **allow)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!matches(routes[i].pattern, path, param))
			continue;
		for (size_t m = 0; m < MAX_METHODS && routes[i].methods[m].method != NULL; m++)
			if (strcmp(routes[i].methods[m].method, method) == 0)
				return routes[i].methods[m].fn;
		*status = 405;
		*allow = routes[i].allow;
		return NULL;
	}
	*status = 404;
	return NULL;
}
