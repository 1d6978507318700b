/* SPDX-License-Identifier: MIT */
/*
 * Executable fasls: a Linux binfmt_misc handler that hands a file starting
 * with SBCL's fasl header (with or without the "#!/usr/bin/sbcl --script"
 * line Debian's SBCL writes first) to lispvm, which runs it as 'lispvm run'
 * does.  A .lisp file needs no handler: a "#!/usr/bin/env lispvm" line
 * reaches the same place through the kernel's own #! support.
 */
#ifndef LISPVM_TOOLS_BINFMT_H
#define LISPVM_TOOLS_BINFMT_H

/* lispvm binfmt install|uninstall|status: an exit status. */
int binfmt_command(const char *verb);

#endif
