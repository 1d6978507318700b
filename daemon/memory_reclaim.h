/* SPDX-License-Identifier: MIT */
/* Memory the host asks back (docs/daemon.md): a full garbage collection
 * in a VM, asked of its attach agent through 'lispvm gc'; SBCL hands the
 * pages it frees back (MADV_DONTNEED, passed on by the guest runtime to
 * the VMM), so the VMM's resident memory falls.  A watcher asks the
 * biggest idle VMs when the host runs short, before it must swap or kill. */
#ifndef LISPVM_DAEMON_MEMORY_RECLAIM_H
#define LISPVM_DAEMON_MEMORY_RECLAIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct reclaim_config {
	uint64_t below;	 /* MemAvailable under this many bytes is pressure; 0: never */
	double psi_some; /* PSI memory "some avg10" at or above this is pressure; 0: never */
};

/* Starts the watcher (when either threshold is set).  0, or -1 with err. */
int memory_reclaim_start(const struct reclaim_config *config, char *err, size_t err_size);

/* A collection in uid's VM named by ref, now (POST /v1/vms/{vm}/gc): 0
 * with *out as openapi.json's Reclaimed says, or an HTTP status (404; 409:
 * it is not running, or has no attach agent; 502: the agent did not
 * collect) with err. */
unsigned int memory_reclaim_vm(uid_t uid, const char *ref, struct json_object **out, char *err,
			       size_t err_size);

#endif
