/* SPDX-License-Identifier: MIT */
#include "daemon_pools.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "log.h"

static void print_pool(struct json_object *p)
{
	const char *snapshot = json_string_field(p, "snapshot");
	const char *failure = json_string_field(p, "last_failure");
	int64_t size = 0, ready = 0, starting = 0, taken = 0, failures = 0;

	json_int_field(p, "size", &size);
	json_int_field(p, "ready", &ready);
	json_int_field(p, "starting", &starting);
	json_int_field(p, "taken", &taken);
	json_int_field(p, "failures", &failures);
	printf("%s\n  %" PRId64 " kept: %" PRId64 " ready, %" PRId64 " starting; %" PRId64
	       " taken; %" PRId64 " failures%s%s\n",
	       snapshot ? snapshot : "?", size, ready, starting, taken, failures,
	       failure ? ", the last: " : "", failure ? failure : "");
}

/* SNAPSHOT=N as a PUT body (the path made absolute: the daemon does not
 * share this command's cwd); NULL after a message, *status its exit
 * status. */
static struct json_object *pool_setting(const char *arg, int *status)
{
	const char *eq = strrchr(arg, '=');
	char file[PATH_MAX], *real, *end;
	unsigned long size;
	struct json_object *body;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(file) || eq[1] < '0' ||
	    eq[1] > '9' || (size = strtoul(eq + 1, &end, 10), *end != '\0') || size > 1000000) {
		*status = daemon_usage("pools", "'%s' is not SNAPSHOT=N", arg);
		return NULL;
	}
	snprintf(file, sizeof(file), "%.*s", (int)(eq - arg), arg);
	if ((real = realpath(file, NULL)) == NULL) {
		log_error("pools: %s: %s", file, strerror(errno));
		*status = LISPVM_EXIT_HOST_ERROR;
		return NULL;
	}
	body = json_object_new_object();
	json_object_object_add(body, "snapshot", json_object_new_string(real));
	json_object_object_add(body, "size", json_object_new_int64((int64_t)size));
	free(real);
	return body;
}

/* Each SNAPSHOT=N set in order; the pools as the last answer has them. */
static int set_pools(int argc, char **argv, int next, struct daemon_session *s,
		     struct daemon_reply *reply)
{
	for (int i = next; i < argc; i++) {
		int status = 0;
		struct json_object *body = pool_setting(argv[i], &status);

		if (body == NULL)
			return status;
		if (daemon_call(&s->client, "PUT", "/v1/pools", body, reply) < 0) {
			json_object_put(body);
			return LISPVM_EXIT_HOST_ERROR;
		}
		json_object_put(body);
		if (reply->status != 200)
			return daemon_refused("pools", NULL, reply);
		if (i + 1 < argc)
			json_object_put(reply->body);
	}
	return 0;
}

int daemon_pools_command(int argc, char **argv, struct daemon_session *s)
{
	int next = daemon_parse_options("pools", argc, argv, "", NULL, s, daemon_no_options, NULL);
	struct daemon_reply reply;
	struct json_object *pools;
	int status;

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (daemon_open_client(s) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (next < argc && (status = set_pools(argc, argv, next, s, &reply)) != 0)
		return status;
	if (next == argc && daemon_call(&s->client, "GET", "/v1/pools", NULL, &reply) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	if (reply.status != 200 || !json_object_object_get_ex(reply.body, "pools", &pools) ||
	    !json_object_is_type(pools, json_type_array))
		return daemon_refused("pools", NULL, &reply);
	if (json_object_array_length(pools) == 0)
		printf("no pools (lispvmd --pool SNAPSHOT=N keeps warm VMs)\n");
	for (size_t i = 0; i < json_object_array_length(pools); i++)
		print_pool(json_object_array_get_idx(pools, i));
	json_object_put(reply.body);
	return 0;
}
