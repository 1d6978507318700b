/* SPDX-License-Identifier: MIT */
/*
 * The guest-side Lisp agent (the .lisp files of agent/, built into
 * lispvm) for `run --attachable` and `run --swank`.  The host's SBCL, the
 * very version the guest runs, compiles it once per agent text and SBCL
 * install, loads it with Debian's Swank and saves a derived core,
 * agent.core, in the cache.  Programs run on that core (packed into its
 * own image and shared by every VM, as any --core), so attaching costs
 * them no compile or load time.  With a --core of the user's own, the
 * agent's fasls load from AGENT_GUEST_DIR instead, a read-only mount of
 * the same directory.
 */
#ifndef LISPVM_TOOLS_AGENT_H
#define LISPVM_TOOLS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_GUEST_DIR "/lispvm/agent"
/* The vsock ports the agent listens on in the guest. */
#define AGENT_ATTACH_PORT 7100
#define AGENT_SWANK_PORT  4005
#define AGENT_MAX_OPTIONS 10

/* Builds the agent's directory (fasls and agent.core) if it is missing
 * and puts its path into dir.  `swank`: Swank is wanted, so cl-swank must
 * be installed.  0, or -1 with a one-line reason in err. */
int agent_prepare(const char *cache_dir, bool swank, char *dir, size_t size, char *err,
		  size_t err_size);

/* The SBCL toplevel options that start the agent (and load it first
 * unless it runs from agent.core): --eval pairs into argv (room for
 * AGENT_MAX_OPTIONS entries); returns how many were added. */
int agent_sbcl_options(bool attach, bool swank, bool from_core, char **argv);

/* The core in an agent directory. */
#define AGENT_CORE_NAME "agent.core"

#endif
