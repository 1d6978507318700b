/* SPDX-License-Identifier: MIT */
/*
 * run, eval and repl as what exec runs: Debian's SBCL from its cached
 * image, with the program's directory and the working directory
 * read-only at their own paths, /usr/share/common-lisp read-only, and the
 * fasl cache read-write at ~/.cache/common-lisp.
 */
#ifndef LISPVM_TOOLS_LISP_RUN_H
#define LISPVM_TOOLS_LISP_RUN_H

#include "cli.h"

/* Where Debian keeps Lisp libraries (the cl-* packages). */
#define LISP_LIBRARIES_DIR "/usr/share/common-lisp"

/* Fills opts' exec fields (images, mounts, argv, exec path, cwd) for its
 * run, eval or repl.  0, or an exit status after one line on stderr. */
int lisp_run_prepare(struct cli_options *opts);

#endif
