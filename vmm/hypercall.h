/* SPDX-License-Identifier: MIT */
/* Hypercall dispatch: one table from LISPVM_HC_* to handlers. */
#ifndef LISPVM_VMM_HYPERCALL_H
#define LISPVM_VMM_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#include <lispvm/abi.h>

#include "dirty_log.h"
#include "guest_memory.h"
#include "hostfs.h"

enum vm_stop_kind {
	VM_RUNNING,
	VM_STOP_EXIT,	     /* guest asked to exit; status is its exit status */
	VM_STOP_GUEST_CRASH, /* guest faulted or broke the ABI */
	VM_STOP_HOST_ERROR,  /* something failed on our side */
	VM_STOP_SNAPSHOT,    /* guest reached the snapshot point: save the VM */
};

struct vm_stop {
	enum vm_stop_kind kind;
	int status;
};

struct hypercall_context {
	const struct guest_memory *mem;
	int console_fd;
	struct hostfs *hostfs; /* the --mount directories; NULL: none */
	struct vm_stop stop;
	/* What the guest reported with LISPVM_HC_EXIT, if it did. */
	struct lispvm_memory_stats guest_stats;
	bool have_guest_stats;
	/* lispvm prepare: LISPVM_HC_SNAPSHOT stops the VM to save it. */
	bool takes_snapshot;
	/* --stats: LISPVM_HC_GC_DONE closes a collection cycle's count of
	 * dirtied pages; NULL: ignored. */
	struct dirty_log *dirty;
};

/* Serves the request at request_gpa (the value the guest wrote to
 * LISPVM_HYPERCALL_PORT).  Sets ctx->stop when the VM must stop; a bad
 * request stops it as a guest crash with a one-line message on stderr. */
void hypercall_dispatch(struct hypercall_context *ctx, uint32_t request_gpa);

#endif
