/* SPDX-License-Identifier: MIT */
/*
 * The guest-side Lisp agent (the .lisp files of agent/, built into lispvm) for
 * `run --attachable` and `run --swank`.  The host's SBCL, the very
 * version the guest runs, compiles it once per agent text and SBCL
 * install into the cache, which the guest mounts read-only at
 * AGENT_GUEST_DIR: attaching costs the program no compile time.  For
 * Swank the host also compiles Debian's cl-swank into the cache's
 * ASDF fasl tree, where the guest's ASDF finds it.
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

/* Compiles what is missing (the attach agent; with `swank`, Swank and its
 * glue too) and puts the directory holding the fasls into dir.  0, or -1
 * with a one-line reason in err. */
int agent_prepare(const char *cache_dir, bool swank, char *dir, size_t size, char *err,
		  size_t err_size);

/* The SBCL toplevel options that load the agent and start it: --eval
 * pairs into argv (room for AGENT_MAX_OPTIONS entries); returns how many were added. */
int agent_sbcl_options(bool attach, bool swank, char **argv);

#endif
