/* SPDX-License-Identifier: MIT */
/*
 * The VMM's control socket: a Unix socket beside the VM's vsock socket
 * (PATH.control) through which `lispvm snapshot` asks a running VM for a
 * snapshot.  One request per connection, one line each way:
 *
 *   SNAPSHOT resume|stop /ABSOLUTE/PATH\n
 *   DIFF resume|stop /ABSOLUTE/PATH\n/ABSOLUTE/BASE\n
 *   OK <bytes stored> <seconds>\n   or   ERROR <one line>\n
 *
 * With the request comes (SCM_RIGHTS) an empty file the client made for
 * the snapshot, and for DIFF the base, open for reading: the VMM opens no
 * path of the client's, so a jailed VMM, which cannot see PATH, takes
 * snapshots as well.  The VMM writes the file; the client renames it to
 * PATH once the answer is OK.  The paths are for messages and, BASE, the
 * name a diff records.
 *
 * DIFF writes only what changed since BASE, which must be the snapshot
 * the VM was resumed from or took last.
 *
 * Only the VM's own user (or root) is served.  The socket's thread takes
 * the request; the vCPU thread, kicked out of KVM_RUN, carries it out
 * between two guest instructions and answers.
 */
#ifndef LISPVM_VMM_VM_CONTROL_H
#define LISPVM_VMM_VM_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define VM_CONTROL_SUFFIX   ".control"
#define VM_CONTROL_PATH_MAX 108 /* sun_path */
#define VM_CONTROL_LINE_MAX 4200
#define VM_CONTROL_MAX_FDS  2 /* the file to write; a diff's base */

struct vm_control_request {
	bool stop; /* end the VM once the snapshot is written */
	bool diff; /* over base */
	char path[VM_CONTROL_LINE_MAX];
	char base[VM_CONTROL_LINE_MAX];
	int out_fd;  /* the empty file to write, the control thread's */
	int base_fd; /* a diff's base, read only; -1 */
};

struct vm_control {
	bool opened;
	char path[VM_CONTROL_PATH_MAX];
	int listen_fd, stop_fd;
	bool bound_path; /* listen_fd was bound here: path goes at close */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* the fields below */
	pthread_cond_t cond;
	bool closing;
	bool pending, done; /* a request waits for the vCPU; it was carried out */
	struct vm_control_request request;
	char answer[512];
};

/* Listens at path (which must not exist; removed again at close), or on
 * listen_fd when that is not -1: a socket already listening at path,
 * made by whoever started the VMM and left to it.  0, or -1 with a
 * one-line reason. */
int vm_control_open(struct vm_control *c, const char *path, int listen_fd, char *err,
		    size_t err_size);

/* The vCPU thread, out of KVM_RUN: the request waiting for it, or NULL. */
const struct vm_control_request *vm_control_pending(struct vm_control *c);

/* The vCPU thread carried out the pending request: the client gets
 * answer ("OK ..." or "ERROR ..."). */
void vm_control_finish(struct vm_control *c, const char *answer);

/* A client still waiting gets an error; the socket is removed. */
void vm_control_close(struct vm_control *c);

#endif
