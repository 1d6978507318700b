/* SPDX-License-Identifier: MIT */
#include "daemon_stats.h"

#include <stdio.h>

#include <lispvm/abi.h>

#define MIB (1024.0 * 1024.0)

/* "12.3" (MiB) of a usage field, or "-" when the daemon cannot see it
 * (the VM has ended, or its VMM is in the helper machine). */
static void format_mib(struct json_object *usage, const char *key, char *buf, size_t size)
{
	int64_t bytes;

	if (usage != NULL && json_int_field(usage, key, &bytes))
		snprintf(buf, size, "%.1f", (double)bytes / MIB);
	else
		snprintf(buf, size, "-");
}

static void print_row(struct json_object *vm)
{
	struct json_object *usage = NULL;
	const char *name = json_string_field(vm, "name"), *id = json_string_field(vm, "id");
	char cpu[32] = "-", rss[32], anon[32];

	json_object_object_get_ex(vm, "usage", &usage);
	if (usage != NULL && !json_object_is_type(usage, json_type_object))
		usage = NULL;
	if (usage != NULL)
		snprintf(cpu, sizeof(cpu), "%.2f", json_number_field(usage, "cpu_seconds"));
	format_mib(usage, "rss", rss, sizeof(rss));
	format_mib(usage, "rss_anon", anon, sizeof(anon));
	printf("%-12s  %-16s  %10s  %10s  %10s\n", id ? id : "?", name ? name : "-", cpu, rss,
	       anon);
}

/* Each named VM (an error for one that is not there), or every running one. */
static int print_rows(int argc, char **argv, int next, struct daemon_session *s)
{
	struct daemon_reply reply;
	struct json_object *vms;
	int status = 0;

	if (next == argc) {
		if (daemon_call(&s->client, "GET", "/v1/vms?state=running", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		if (reply.status != 200 || !json_object_object_get_ex(reply.body, "vms", &vms) ||
		    !json_object_is_type(vms, json_type_array))
			return daemon_refused("stats", NULL, &reply);
		for (size_t i = 0; i < json_object_array_length(vms); i++)
			print_row(json_object_array_get_idx(vms, i));
		json_object_put(reply.body);
		return 0;
	}
	for (int i = next; i < argc; i++) {
		if (daemon_call_vm(s, "GET", argv[i], "", NULL, &reply) < 0)
			return LISPVM_EXIT_HOST_ERROR;
		if (reply.status != 200) {
			status = daemon_refused("stats", argv[i], &reply);
			continue;
		}
		print_row(reply.body);
		json_object_put(reply.body);
	}
	return status;
}

int daemon_stats_command(int argc, char **argv, struct daemon_session *s)
{
	int next = daemon_parse_options("stats", argc, argv, "", NULL, s, daemon_no_options, NULL);

	if (next < 0)
		return LISPVM_EXIT_USAGE;
	if (daemon_open_client(s) < 0)
		return LISPVM_EXIT_HOST_ERROR;
	printf("%-12s  %-16s  %10s  %10s  %10s\n", "ID", "NAME", "CPU s", "RSS MiB", "GUEST MiB");
	return print_rows(argc, argv, next, s);
}
