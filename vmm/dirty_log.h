/* SPDX-License-Identifier: MIT */
/* KVM's dirty-page log of guest RAM, sampled while the VM runs: how fast
 * the guest dirties memory and what harvesting the log costs (`--stats`).
 * The log sees the guest's writes, not the VMM's own (device buffers). */
#ifndef LISPVM_VMM_DIRTY_LOG_H
#define LISPVM_VMM_DIRTY_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"

#define DIRTY_LOG_WINDOW_MS 100

struct dirty_stats {
	uint64_t pages;	     /* dirty pages harvested; a page counts once a window */
	uint64_t elapsed_ns; /* from the first window to the last harvest */
	uint64_t peak_per_s; /* the busiest window's rate */
	uint64_t harvests;   /* KVM_GET_DIRTY_LOG rounds (every logged slot) */
	uint64_t harvest_ns; /* their total time */
	uint64_t slot_pages; /* pages the log covers */
};

struct dirty_log {
	struct kvm_vm *kvm;
	uint64_t *bitmap; /* one slot's worth, the largest */
	pthread_t thread;
	int stop_fd;
	bool running;
	uint64_t started_ns, last_ns;
	struct dirty_stats stats;
};

/* One round of KVM_GET_DIRTY_LOG over every logged slot (which also
 * re-arms the log): the number of pages dirtied since the last round, or
 * -1 with errno.  bitmap holds the largest slot's bits. */
int64_t dirty_log_harvest(const struct kvm_vm *kvm, uint64_t *bitmap);

/* Starts the sampler thread (a window every DIRTY_LOG_WINDOW_MS) over the
 * VM's logged slots.  0, or -1 with a reason. */
int dirty_log_start(struct dirty_log *log, struct kvm_vm *kvm, char *err, size_t err_size);

/* Stops the sampler after a last harvest; *stats gets the figures. */
void dirty_log_stop(struct dirty_log *log, struct dirty_stats *stats);

#endif
