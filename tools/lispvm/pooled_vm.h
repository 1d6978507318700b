/* SPDX-License-Identifier: MIT */
/*
 * lispvm run --snapshot FILE --pooled SOCKET: a VM restored ahead of its
 * program, for lispvmd's warm pool.  The VMM checks and maps FILE and
 * makes the KVM VM; then this listens on SOCKET for one connection from
 * lispvm's own user (or root) that carries the invocation: its length in
 * decimal and a newline, then a lispvm command line ("lispvm", "run",
 * options, program, arguments; or eval), each word NUL-terminated, the
 * writer's end shut after the last.  The answer is one line: "ok" (the VM
 * goes on as that command would, on this process's stdio), or "error:
 * WHY", after which the VM waits for the next connection, unless WHY
 * begins "stale:" (the snapshot was replaced since, or the --kernel,
 * --append or --memory sent are not the pool's): then it ends (exit 125).
 * SOCKET is removed once one is taken.  With --jail, the VMM waits in
 * its jail and this process stays outside as its supervisor, taking the
 * invocation there and handing it in (pooled_jail.h).
 */
#ifndef LISPVM_TOOLS_POOLED_VM_H
#define LISPVM_TOOLS_POOLED_VM_H

#include "cli.h"

/* An exit status, as lispvm run's. */
int pooled_vm_command(const struct cli_options *opts);

#endif
