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
#include <limits.h>
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
	bool jail;	       /* VMs run jailed (lispvm --jail) */
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

/* Publishes an event of type about the VM with this ID, with extra
 * (taken) as the event's field key. */
void vm_table_publish(const char *id, const char *type, const char *key, struct json_object *extra);

/* ---- the warm pool's VMs (vm_pool.c): the daemon's own, seen by no
 * user, each a VMM restored from a snapshot and waiting on pool.sock in
 * its directory for a program (lispvm run --pooled). */

/* Starts a warm VM of snapshot's pool (memory: its --memory, 0 none).
 * 0, or 500 with a reason. */
unsigned int vm_table_pool_start(const char *snapshot, uint64_t memory, char *err, size_t err_size);

struct vm_pool_census {
	unsigned int ready;    /* waiting for a program */
	unsigned int starting; /* restoring */
	unsigned int failed;   /* ended without a program since the last census */
	char why[256];	       /* how the last of those ended */
};

/* Counts snapshot's warm VMs, forgets those that ended, and ends those
 * beyond keep (the pool shrank). */
void vm_table_pool_census(const char *snapshot, unsigned int keep, struct vm_pool_census *c);

/* Kills the warm VMs of snapshots no pool wants (adopted from a daemon
 * that had other pools) and forgets them once they ended. */
void vm_table_pool_retire(bool (*wanted)(const char *snapshot));

#define VM_POOL_NONE_READY 1

/* A warm VM being handed a program. */
struct vm_pool_claim {
	char id[VM_ID_LEN + 1];
	char socket[PATH_MAX + 16];	    /* where it waits */
	const char *argv[VM_SPEC_MAX_ARGV]; /* the invocation: spec's command line */
	char **owned;
};

/* Claims a ready warm VM of snapshot for uid's spec (checked, as for
 * create): 0, VM_POOL_NONE_READY, or an HTTP status (403, 409, 500) with
 * a reason.  A claimed VM is uid's, named and counted, until
 * vm_table_pool_finish says whether it took the program (*out: its
 * description, and the "started" event), refused it (a warm VM again), or
 * must end (stale, or it may have half of it: killed, and forgotten once
 * it has ended, which is no failure of the pool's). */
unsigned int vm_table_pool_claim(uid_t uid, struct json_object *spec, const char *snapshot,
				 struct vm_pool_claim *claim, char *err, size_t err_size);
enum vm_pool_outcome { VM_POOL_TAKEN, VM_POOL_REFUSED, VM_POOL_RETIRE };
void vm_table_pool_finish(struct vm_pool_claim *claim, enum vm_pool_outcome how,
			  struct json_object **out);

/* The daemon is ending: every wait and follow returns at once (so that
 * the HTTP server's threads end), and vm_table_closing says so. */
void vm_table_close(void);
bool vm_table_closing(void);

#endif
