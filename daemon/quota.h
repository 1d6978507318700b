/* SPDX-License-Identifier: MIT */
/* Per-user quotas: how many VMs a user may have running (or starting) at
 * once, and how much guest memory they may ask for in all. */
#ifndef LISPVM_DAEMON_QUOTA_H
#define LISPVM_DAEMON_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct quota {
	size_t max_vms;	     /* 0: no limit */
	uint64_t max_memory; /* bytes; 0: no limit */
};

/* The guest memory a checked spec asks for: its "memory", else lispvm's
 * default. */
uint64_t quota_spec_memory(struct json_object *spec);

/* a + b, or UINT64_MAX when that overflows (a VM adopted from before a
 * quota may ask for anything). */
uint64_t quota_add(uint64_t a, uint64_t b);

/* 0 when one more VM asking for `asked` bytes fits beside the user's
 * `vms` VMs holding `in_use` bytes; else 403 with why in err. */
unsigned int quota_admit(const struct quota *q, size_t vms, uint64_t in_use, uint64_t asked,
			 char *err, size_t err_size);

#endif
