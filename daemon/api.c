/* SPDX-License-Identifier: MIT */
#include "api.h"

#include <stddef.h>
#include <string.h>

#include <lispvm/abi.h>

#include "lispvmd_config.h"

#define MAX_METHODS 4

struct path_routes {
	const char *path;
	const char *allow; /* the methods below, for 405's Allow */
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

static const struct path_routes routes[] = {
	{"/v1/version", "GET", {{"GET", get_version}}},
};

http_route_fn api_route(const char *method, const char *path, unsigned int *status,
			const char **allow)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) != 0)
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
