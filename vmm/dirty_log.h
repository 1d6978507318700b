/* SPDX-License-Identifier: MIT */
/* KVM's dirty-page log of guest RAM: sampled while the VM runs, for how
 * fast the guest dirties memory and what harvesting costs (`--stats`),
 * and kept, for a snapshot that stores only what changed since the one
 * it was restored from.  The log sees the guest's writes, not the VMM's
 * own (guest_memory_track_writes has those). */
#ifndef LISPVM_VMM_DIRTY_LOG_H
#define LISPVM_VMM_DIRTY_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"

#define DIRTY_LOG_WINDOW_MS 100
/* Collection cycles whose pages are listed one by one in the figures. */
#define DIRTY_LOG_GC_LISTED 8

struct dirty_stats {
	uint64_t pages;	     /* dirty pages harvested; a page counts once a window */
	uint64_t elapsed_ns; /* from the first window to the last harvest */
	uint64_t peak_per_s; /* the busiest window's rate */
	uint64_t harvests;   /* KVM_GET_DIRTY_LOG rounds (every logged slot) */
	uint64_t harvest_ns; /* their total time */
	uint64_t slot_pages; /* pages the log covers */
	/* Collection cycles (LISPVM_HC_GC_DONE): the distinct pages dirtied
	 * from one collection's end to the next's, the first ones listed. */
	uint64_t gcs, gc_pages_sum, gc_pages_max;
	uint64_t gc_pages[DIRTY_LOG_GC_LISTED];
};

struct dirty_log {
	struct kvm_vm *kvm;
	uint64_t *bitmap; /* one slot's worth, the largest */
	/* With `keep`: every page dirtied since the start, per logged slot. */
	uint64_t *since[KVM_VM_MAX_LOGGED];
	/* While sampling: every page dirtied since the last collection. */
	uint64_t *cycle[KVM_VM_MAX_LOGGED];
	pthread_t thread;
	int stop_fd;
	bool sampling, started, stopped;
	bool failed;	      /* a harvest failed: `since` misses pages */
	pthread_mutex_t lock; /* the harvest: the sampler's and the last */
	uint64_t started_ns, last_ns;
	struct dirty_stats stats;
};

/* Starts logging the VM's logged slots from now (a first harvest drops
 * what the set-up wrote): with `sample`, a thread harvests a window every
 * DIRTY_LOG_WINDOW_MS for the figures; with `keep`, every harvest also
 * adds to `since`.  0, or -1 with a reason. */
int dirty_log_start(struct dirty_log *log, struct kvm_vm *kvm, bool sample, bool keep, char *err,
		    size_t err_size);

/* Stops the sampler and harvests a last time (the vCPU must be out of
 * KVM_RUN for `since` to be complete); *stats gets the figures.  Later
 * calls only give the figures again. */
void dirty_log_stop(struct dirty_log *log, struct dirty_stats *stats);

/* A harvest now, while the log goes on (the vCPU out of KVM_RUN and the
 * devices held, for a snapshot of the running VM): `since` is complete.
 * -1 if a harvest ever failed (`since` misses pages). */
int dirty_log_harvest(struct dirty_log *log);

/* Empties `since`: the next diff counts from now. */
void dirty_log_forget(struct dirty_log *log);

/* A collection ended (the vCPU is out of KVM_RUN): harvests now and
 * closes the cycle's count of distinct dirtied pages.  Only while
 * sampling; otherwise nothing. */
void dirty_log_gc_done(struct dirty_log *log);

/* Frees the bitmaps (`since` too). */
void dirty_log_free(struct dirty_log *log);

#endif
