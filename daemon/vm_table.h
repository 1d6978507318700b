/* SPDX-License-Identifier: MIT */
/*
 * The VMs lispvmd knows: one directory each under STATE/vms, read back
 * at start (a restarted daemon adopts every VM whose monitor lives on),
 * each started through its monitor.  Every function takes the table's
 * lock itself; a VM is looked up by ID (root: any VM's) or by name among
 * the caller's own.
 */
#ifndef LISPVM_DAEMON_VM_TABLE_H
#define LISPVM_DAEMON_VM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "quota.h"
#include "vm_spec.h"

#define VM_ID_LEN 12

struct vm_table_config {
	const char *state_dir; /* VMs live in state_dir/vms */
	const char *lispvm;    /* the lispvm command VMs run */
	uint64_t log_cap;      /* bytes of output kept per VM */
	struct quota quota;    /* per user */
};

/* Makes the directories and adopts the VMs found there.  0, or -1 with a
 * reason. */
int vm_table_open(const struct vm_table_config *config, char *err, size_t err_size);

/* Starts a VM for uid from a checked spec (vm_spec_check): *out gets its
 * description.  0, or an HTTP status (403: over uid's quota; 409: the name
 * is taken; 500) with
 * a reason. */
unsigned int vm_table_create(uid_t uid, struct json_object *spec, struct json_object **out,
			     char *err, size_t err_size);

/* The description of uid's VM named by ref (an ID or a name): NULL if
 * there is none the caller may see. */
struct json_object *vm_table_describe(uid_t uid, const char *ref);

/* Every VM uid may see, filtered by state ("running", "exited") and by
 * labels ("key=value"), both optional: {"vms": [...]}. */
struct json_object *vm_table_list(uid_t uid, const char *state, const char *label);

/* Sends sig to the VM's lispvm process, if it still runs.  0, 404 (no
 * such VM), or 409 (it has ended). */
unsigned int vm_table_signal(uid_t uid, const char *ref, int sig);

/* Waits until the VM has ended or gone_fn(arg) says the caller left,
 * at most timeout_ms (< 0: no limit).  0 (it ended), 404, 408 (timed
 * out), 499 (the caller left) or 503 (the daemon is ending). */
unsigned int vm_table_wait(uid_t uid, const char *ref, int timeout_ms, bool (*gone_fn)(void *),
			   void *arg);

/* The VM's directory (its log is there): 0, or 404. */
unsigned int vm_table_dir(uid_t uid, const char *ref, char *dir, size_t size);

/* Whether the VM in dir has ended (or its monitor died without saying). */
bool vm_table_ended(const char *dir);

/* Forgets an ended VM and removes its directory.  0, 404 or 409. */
unsigned int vm_table_remove(uid_t uid, const char *ref);

/* What the daemon needs to ask a running VM for its garbage. */
struct vm_target {
	char id[VM_ID_LEN + 1];
	char lispvm_name[VM_NAME_MAX + 1]; /* what 'lispvm attach' knows it by */
	uid_t uid;
	pid_t pid; /* its lispvm process; 0 when it has ended */
	bool attachable;
};

/* uid's VM named by ref: 0, or 404. */
unsigned int vm_table_target(uid_t uid, const char *ref, struct vm_target *out);

/* Every running VM that has the attach agent (any owner): a malloc'd
 * array of *n, or NULL when there is none. */
struct vm_target *vm_table_attachable(size_t *n);

/* The lispvm binary VMs run. */
const char *vm_table_lispvm(void);

/* The environment VMs (and the lispvm commands run for them) get: the
 * daemon's, without its service manager's variables; a malloc'd array
 * of borrowed strings. */
const char **vm_table_environment(void);

/* Publishes an event of type about the VM with this ID, with extra
 * (taken) as the event's field key. */
void vm_table_publish(const char *id, const char *type, const char *key, struct json_object *extra);

/* The daemon is ending: every wait and follow returns at once (so that
 * the HTTP server's threads end), and vm_table_closing says so. */
void vm_table_close(void);
bool vm_table_closing(void);

#endif
