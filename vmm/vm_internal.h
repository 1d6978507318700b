/* SPDX-License-Identifier: MIT */
/* The VM as vm.c builds it, shared with the snapshot code (vm_snapshot.c),
 * which saves one and builds one back from a file. */
#ifndef LISPVM_VMM_VM_INTERNAL_H
#define LISPVM_VMM_VM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dirty_log.h"
#include "elf_loader.h"
#include "guest_memory.h"
#include "guest_params.h"
#include "hostfs.h"
#include "hypercall.h"
#include "image_slots.h"
#include "kvm_vm.h"
#include "memory_layout.h"
#include "vcpu.h"
#include "virtio_console.h"
#include "virtio_vsock.h"
#include "vm.h"
#include "vm_control.h"
#include "working_set.h"

#define ERR_SIZE 256

struct kernel_file {
	void *data;
	size_t size;
};

struct vm {
	const struct vm_config *config;
	struct memory_layout layout;
	struct guest_memory mem;
	struct kvm_vm kvm;
	struct vcpu vcpu;
	struct kernel_file kernel;
	struct elf_text_span text; /* the kernel's, when text_map holds it */
	void *text_map;
	void *ram[MEMORY_LAYOUT_MAX_RAM];
	struct guest_params params;
	struct image_mapping images[GUEST_MAX_IMAGES];
	/* The image files: the command's, or a restored snapshot's. */
	const char *image_paths[GUEST_MAX_IMAGES];
	char *restored_image_paths[GUEST_MAX_IMAGES];	 /* owned: a restore's copies */
	char *restored_mount_paths[GUEST_MAX_MOUNTS][2]; /* owned: host, guest */
	unsigned int nr_images;
	uint64_t start_info_gpa;
	/* lispvm prepare: the hash of the guest runtime as it was loaded */
	uint64_t runtime_hash;
	/* The snapshot a diff would go over: the one restored, or the one a
	 * running VM took last (its header checksum). */
	bool has_base;
	uint64_t base_checksum;
	bool diffable;		    /* the dirty log keeps what changed since the base */
	uint64_t restored_checksum; /* the header checksum of the file restored */
	int pagemap_fd;		    /* --record-working-set: /proc/self/pagemap */
	FILE *smaps;		    /* --stats: /proc/self/smaps, opened before the sandbox */
	bool prefetched;	    /* --prefetch: what it mapped in */
	struct working_set_stats prefetch;
	struct hostfs hostfs;
	struct virtio_console console;
	struct virtio_vsock vsock;
	struct hypercall_context hc;
	struct dirty_log dirty;	   /* with --stats, and for a diff snapshot */
	struct vm_control control; /* lispvm snapshot's way in */
	char err[ERR_SIZE];
};

/* vm.c's steps, which a restore takes too. */
int vm_setup_mounts(struct vm *vm); /* the command's --mount directories */
int vm_open_mounts(struct vm *vm, const struct guest_mount *mounts, unsigned int n);
int vm_read_kernel(struct vm *vm);
void vm_map_kernel_text(struct vm *vm);
/* Whether the kernel's mapped text lies in RAM range i, and where
 * (*cut: its offset in the range). */
bool vm_text_in_ram(const struct vm *vm, unsigned int i, uint64_t *cut);

/* A restored VM's working set (vm_working_set.c).  After the restore:
 * --prefetch maps its file's pages in, --record-working-set opens what it
 * will read (before the sandbox); 0, or -1 with vm->err.  Once the guest
 * has exited: the record is written; 0, or -1 after a one-line message. */
int vm_working_set_start(struct vm *vm);
int vm_working_set_finish(struct vm *vm, const struct vm_stop *stop);

/* A VM restored from a snapshot that will take one: the new file is a
 * diff over the one restored (vm_snapshot.c). */
static inline bool vm_takes_diff(const struct vm *vm)
{
	return vm->config->snapshot_in != NULL && vm->config->snapshot_out != NULL;
}
/* A VM that may take a diff: prepare --snapshot, or any VM lispvm
 * snapshot can reach (its control socket), logged from the start. */
static inline bool vm_logs_changes(const struct vm *vm)
{
	return vm_takes_diff(vm) || vm->config->control_path != NULL;
}
/* Guest RAM: anonymous memory, in memory slots. */
int vm_setup_ram(struct vm *vm);
int vm_setup_devices(struct vm *vm);

/* vm_snapshot.c: saves the VM stopped at the snapshot point into
 * config->snapshot_out; the stop that ends the run. */
struct vm_stop vm_snapshot_take(struct vm *vm);
/* lispvm snapshot: saves the running VM, whose vCPU is out of KVM_RUN, as
 * req asks (a diff over req->base when it names one); the VM then runs
 * on.  answer gets the control socket's reply line ("OK <bytes stored>
 * <seconds>" or "ERROR <why>").  0 or -1. */
int vm_snapshot_take_running(struct vm *vm, const struct vm_control_request *req, char *answer,
			     size_t answer_size);
/* Builds the VM from config->snapshot_in instead of booting it. */
int vm_snapshot_restore(struct vm *vm);

#endif
