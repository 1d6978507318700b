/* SPDX-License-Identifier: MIT */
/* One microVM from start to stop: memory, kernel, boot data, vCPU loop. */
#ifndef LISPVM_VMM_VM_H
#define LISPVM_VMM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_params.h"

struct vm_listen_fds {
	int vsock, control; /* -1: none given */
};

struct vm_config {
	const char *kernel_path;	     /* the guest runtime ELF */
	uint64_t memory_size;		     /* bytes of guest RAM */
	const char *cmdline;		     /* guest kernel command line */
	int console_fd;			     /* where guest console output goes */
	unsigned int timeout_seconds;	     /* stop a guest still running after this; 0: never */
	const struct guest_program *program; /* lispvm exec's program, or NULL */
	const char *const *image_paths;	     /* read-only images, in order */
	unsigned int nr_images;
	const struct guest_mount *mounts; /* --mount directories, in order */
	unsigned int nr_mounts;
	bool print_stats; /* --stats: a memory report on stderr at the end */
	/* --vsock: the host Unix socket of the VM's vsock device, and the
	 * guest's CID; NULL: no device. */
	const char *vsock_path;
	uint32_t guest_cid;
	/* The vsock and control sockets already listening at vsock_path and
	 * control_path, made by whoever started the VMM (lispvm --jail: the
	 * jail cannot make them) and left to it; NULL: the VMM makes them. */
	const struct vm_listen_fds *listen_fds;
	/* Where the kernel's shared text may be cached (content_cache.h);
	 * NULL: every VM gets a copy. */
	const char *kernel_text_cache;
	/* lispvm prepare: at the guest's snapshot point, save the VM here
	 * and stop (exit 0). */
	const char *snapshot_out;
	/* run --snapshot: restore this file instead of booting; its images
	 * are used (image_paths is ignored) and its RAM size, which must not
	 * exceed memory_size when memory_size_given. */
	const char *snapshot_in;
	bool memory_size_given;
	/* run --snapshot FILE without a program: FILE is a running VM's
	 * snapshot, resumed where it was with a console on stdin/stdout. */
	bool resume;
	/* With snapshot_in: --record-working-set FILE, where the pages this
	 * run touched are written when the guest exits; --prefetch FILE,
	 * such a file whose pages are mapped in before the guest runs.
	 * NULL: neither. */
	const char *working_set_out;
	const char *prefetch_path;
	/* Where lispvm snapshot reaches this VM (vm_control.h); NULL: no
	 * control socket. */
	const char *control_path;
	/* run --snapshot FILE --pooled SOCKET: once the snapshot's machine is
	 * restored (file checked, KVM VM, RAM, images), this waits for the
	 * invocation and returns the configuration the VM runs with from then
	 * on (its snapshot_in, kernel_path and memory options the same as
	 * machine's, the configuration it was started with), or NULL with a
	 * reason in err.  NULL: no waiting. */
	const struct vm_config *(*await_invocation)(void *arg, const struct vm_config *machine,
						    char *err, size_t err_size);
	void *await_arg;
};

/* Boots the guest and runs it until it stops.  Returns the exit status for
 * the lispvm process: the guest's own status, or LISPVM_EXIT_HOST_ERROR /
 * LISPVM_EXIT_GUEST_CRASH / LISPVM_EXIT_TIMEOUT after a one-line message on
 * stderr. */
int vm_run(const struct vm_config *config);

#endif
