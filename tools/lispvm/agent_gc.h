/* SPDX-License-Identifier: MIT */
/* A full garbage collection in a running VM, asked of its attach agent
 * (`lispvm gc`, `snapshot --gc`, and lispvmd through `lispvm gc`): SBCL's GC hands the pages it
 * frees back (MADV_DONTNEED, which the guest runtime passes on to the host), so a snapshot taken
 * next stores live data, not the garbage since the last collection. */
#ifndef LISPVM_TOOLS_AGENT_GC_H
#define LISPVM_TOOLS_AGENT_GC_H

#include <stddef.h>

/* vsock_path: the VM's vsock socket.  0 once the collection is done, or
 * -1 with a one-line reason in err (no agent, no answer in timeout_ms). */
int agent_collect_garbage(const char *vsock_path, int timeout_ms, char *err, size_t err_size);

/* Long enough for a big heap under emulation. */
#define AGENT_GC_TIMEOUT_MS (300 * 1000)

/* lispvm gc [VM] (VM as for attach): an exit status. */
int agent_gc_command(const char *target);

#endif
