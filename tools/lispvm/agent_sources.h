/* SPDX-License-Identifier: MIT */
/* The guest-side Lisp agent's sources (agent/), built into lispvm by
 * embed_files.py. */
#ifndef LISPVM_TOOLS_AGENT_SOURCES_H
#define LISPVM_TOOLS_AGENT_SOURCES_H

struct agent_source {
	const char *name; /* e.g. "attach.lisp" */
	const char *text;
};

extern const struct agent_source agent_sources[];
extern const unsigned int agent_source_count;

#endif
