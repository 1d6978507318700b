/* SPDX-License-Identifier: MIT */
/*
 * Where `run --attachable` and `run --swank` put a VM's vsock socket, so
 * that `lispvm attach` finds it by name or process id:
 * $XDG_RUNTIME_DIR/lispvm, else /tmp/lispvm-UID (made 0700, and refused
 * when someone else owns it).
 */
#ifndef LISPVM_TOOLS_VM_SOCKET_H
#define LISPVM_TOOLS_VM_SOCKET_H

#include <stddef.h>

#define VM_SOCKET_SUFFIX ".vsock"

/* The socket for a VM called name (its --name, or lispvm's pid).  A
 * socket left there by a VM that is gone is removed.  0, or -1 with err. */
int vm_socket_path(const char *name, char *out, size_t size, char *err, size_t err_size);

/* attach's VM argument: a path (it has a '/') as it is; else a name or a
 * process id in the directory; NULL: the only VM socket there.  0, or -1
 * with err. */
int vm_socket_resolve(const char *target, char *out, size_t size, char *err, size_t err_size);

#endif
