/* SPDX-License-Identifier: MIT */
#include "quota.h"

#include <inttypes.h>
#include <stdio.h>

#include "default_memory.h"
#include "size_parse.h"

uint64_t quota_spec_memory(struct json_object *spec)
{
	struct json_object *v;
	uint64_t bytes;

	if (json_object_object_get_ex(spec, "memory", &v) &&
	    size_parse(json_object_get_string(v), &bytes) == 0)
		return bytes;
	return LISPVM_DEFAULT_MEMORY;
}

uint64_t quota_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

unsigned int quota_admit(const struct quota *q, size_t vms, uint64_t in_use, uint64_t asked,
			 char *err, size_t err_size)
{
	if (q->max_vms != 0 && vms + 1 > q->max_vms) {
		snprintf(err, err_size,
			 "quota: you have %zu VMs running, the most lispvmd allows "
			 "a user (--max-vms)",
			 vms);
		return 403;
	}
	if (q->max_memory != 0 && (asked > q->max_memory || in_use > q->max_memory - asked)) {
		snprintf(err, err_size,
			 "quota: %" PRIu64 " MiB of guest memory asked beside the %" PRIu64
			 " MiB your running VMs have is over the %" PRIu64
			 " MiB lispvmd allows a user (--max-memory)",
			 asked >> 20, in_use >> 20, q->max_memory >> 20);
		return 403;
	}
	return 0;
}
