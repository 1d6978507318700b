/* SPDX-License-Identifier: MIT */
#include "daemon_pools.h"

#include <inttypes.h>
#include <stdio.h>

#include <lispvm/abi.h>

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

int daemon_pools_command(int argc, char **argv, struct daemon_session *s)
{
	int next = daemon_parse_options("pools", argc, argv, "", NULL, s, daemon_no_options, NULL);
	struct daemon_reply reply;
	struct json_object *pools;

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (next != argc) {
		daemon_usage("pools", "unexpected argument '%s'", argv[next]);
		return LISPVM_EXIT_USAGE;
	}
	if (daemon_open_client(s) < 0 ||
	    daemon_call(&s->client, "GET", "/v1/pools", NULL, &reply) < 0)
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
