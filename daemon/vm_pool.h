/* SPDX-License-Identifier: MIT */
/*
 * The warm pool: per snapshot (lispvmd --pool FILE=N, or PUT /v1/pools),
 * N VMs restored
 * from it ahead of any program (lispvm run --pooled), kept ready by a
 * thread.  A create that names the snapshot, with a program or forms and
 * nothing that changes the machine, takes one: its program, arguments,
 * environment, mounts and stdio go to it over its socket, and the pool
 * refills in the background.  A warm VM that ends without a program
 * (a snapshot that cannot be restored, say) is counted and its last line
 * kept; the pool then waits longer before the next, up to a minute.
 */
#ifndef LISPVM_DAEMON_VM_POOL_H
#define LISPVM_DAEMON_VM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#define VM_POOL_MAX	 16
#define VM_POOL_MAX_SIZE 64

/* A pool from --pool FILE=N, set at start.  0, or -1 with a reason. */
int vm_pool_add(const char *arg, char *err, size_t err_size);

/* Starts keeping the pools filled: those state_dir/pools.json kept, then
 * the --pool options over them (memory: the warm VMs' --memory, 0 none:
 * lispvmd passes the size a quota counts).  0, or -1 with a reason. */
int vm_pool_start(const char *state_dir, uint64_t memory, char *err, size_t err_size);

/* PUT /v1/pools: snapshot's pool holds size warm VMs from now on (0: no
 * pool; its warm VMs end), kept in pools.json.  0, or an HTTP status (400:
 * no such file, a size over VM_POOL_MAX_SIZE; 409: VM_POOL_MAX pools
 * already) with a reason. */
unsigned int vm_pool_set(const char *snapshot, unsigned int size, char *err, size_t err_size);

/* Creates uid's VM from a checked spec with a warm VM, if it can: 0 (*out
 * its description), VM_POOL_NONE_READY (no pool for it, none ready, or
 * the warm VM refused: start it cold), or an HTTP status with a reason
 * (503: the warm VM did not answer, and may have begun the program). */
unsigned int vm_pool_take(uid_t uid, struct json_object *spec, struct json_object **out, char *err,
			  size_t err_size);

/* {"pools": [{"snapshot", "size", "ready", "starting", "taken",
 * "failures", "last_failure"}]}; last_failure (a warm VM's last line) only
 * with details (for the daemon's own user and root). */
struct json_object *vm_pool_status(bool details);

#endif
