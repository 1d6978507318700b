/* SPDX-License-Identifier: MIT */
/* POST /v1/vms/{vm}/snapshot: a running VM saved in a file, by running
 * 'lispvm snapshot NAME -o FILE' for it (docs/snapshots.md, "Running
 * VMs"); the VMM writes the file, so the path is the VM's user's. */
#ifndef LISPVM_DAEMON_SNAPSHOT_REQUEST_H
#define LISPVM_DAEMON_SNAPSHOT_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

/* body: {"file": PATH, "diff": PATH, "stop": BOOL, "gc": BOOL}, file
 * required.  0 with *out {"file", "saved", "vm"}, or an HTTP status (400:
 * the body; 404; 409: the VM has ended or has no attach agent; 502: the
 * VMM did not save it, with its line) with err. */
unsigned int snapshot_request_run(uid_t uid, const char *ref, struct json_object *body,
				  struct json_object **out, char *err, size_t err_size);

#endif
