/* SPDX-License-Identifier: MIT */
/*
 * run, eval and repl as what exec runs: Debian's SBCL and its libraries
 * from their cached image, with the program's directory and the working
 * directory read-only at their own paths and the fasl cache read-write
 * at ~/.cache/common-lisp.
 */
#ifndef LISPVM_TOOLS_LISP_RUN_H
#define LISPVM_TOOLS_LISP_RUN_H

#include "cli.h"

/* Fills opts' exec fields (images, mounts, argv, exec path, cwd) for its
 * run, eval or repl.  0, or an exit status after one line on stderr. */
int lisp_run_prepare(struct cli_options *opts);

/* `lispvm image build --core CORE`: packs the core's image into the cache
 * (as a run with --core would) and prints its path.  An exit status. */
int lisp_core_image_command(const char *cache_option, const char *core);

/* run --snapshot FILE with no program: the resumed VM gets a vsock
 * device at its socket, as with --attachable (the program it resumes had
 * one).  0, or an exit status after one line. */
int lisp_run_resume_prepare(struct cli_options *opts);

#endif
