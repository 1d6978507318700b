/* SPDX-License-Identifier: MIT */
/* Files built into lispvm by embed_files.py: the attach agent's Lisp
 * (agent/) and the snapshot driver (snapshot_driver.lisp). */
#ifndef LISPVM_TOOLS_EMBEDDED_FILE_H
#define LISPVM_TOOLS_EMBEDDED_FILE_H

struct embedded_file {
	const char *name; /* e.g. "attach.lisp" */
	const char *text;
};

extern const struct embedded_file agent_sources[];
extern const unsigned int agent_sources_count;
extern const struct embedded_file snapshot_driver_sources[];
extern const unsigned int snapshot_driver_sources_count;

#endif
