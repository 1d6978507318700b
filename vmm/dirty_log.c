/* SPDX-License-Identifier: MIT */
#include "dirty_log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "device_thread.h"
#include "monotonic_clock.h"
#include "page_bitmap.h"

/* One round of KVM_GET_DIRTY_LOG over every logged slot (which also
 * re-arms the log): the pages dirtied since the last round, or -1. */
static int64_t harvest(struct dirty_log *log)
{
	const struct kvm_vm *kvm = log->kvm;
	int64_t dirty = 0;

	for (unsigned int i = 0; i < kvm->nr_logged; i++) {
		size_t words = page_bitmap_words(kvm->logged[i].pages);
		struct kvm_dirty_log get = {.slot = kvm->logged[i].slot,
					    .dirty_bitmap = log->bitmap};

		/* KVM fills the bitmap rounded up to 64 bits and clears its
		 * own as it copies: each call returns only the pages written
		 * since the last. */
		if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &get) < 0)
			return -1;
		for (size_t w = 0; w < words; w++) {
			dirty += __builtin_popcountll(log->bitmap[w]);
			if (log->since[i] != NULL)
				log->since[i][w] |= log->bitmap[w];
			if (log->cycle[i] != NULL)
				log->cycle[i][w] |= log->bitmap[w];
		}
	}
	return dirty;
}

/* A window's harvest, timed, into the figures. */
static void sample(struct dirty_log *log)
{
	uint64_t start, end;
	int64_t dirty;

	pthread_mutex_lock(&log->lock);
	start = monotonic_ns();
	dirty = harvest(log);
	end = monotonic_ns();
	/* KVM clears its bits as it copies them: a failed copy loses them. */
	log->failed |= dirty < 0;
	if (dirty >= 0) {
		log->stats.harvests++;
		log->stats.harvest_ns += end - start;
		log->stats.pages += (uint64_t)dirty;
		if (end > log->last_ns) {
			uint64_t rate = (uint64_t)dirty * 1000000000u / (end - log->last_ns);

			if (rate > log->stats.peak_per_s)
				log->stats.peak_per_s = rate;
		}
		log->last_ns = end;
		log->stats.elapsed_ns = end - log->started_ns;
	}
	pthread_mutex_unlock(&log->lock);
}

static void *sampler(void *arg)
{
	struct dirty_log *log = arg;
	struct pollfd stop = {.fd = log->stop_fd, .events = POLLIN};

	for (;;) {
		int ready = poll(&stop, 1, DIRTY_LOG_WINDOW_MS);

		if (ready > 0 || (ready < 0 && errno != EINTR))
			return NULL;
		if (ready == 0)
			sample(log);
	}
}

int dirty_log_start(struct dirty_log *log, struct kvm_vm *kvm, bool sample_, bool keep, char *err,
		    size_t err_size)
{
	uint64_t largest = 0;

	*log = (struct dirty_log){.kvm = kvm, .stop_fd = -1};
	pthread_mutex_init(&log->lock, NULL);
	log->started = true;
	for (unsigned int i = 0; i < kvm->nr_logged; i++) {
		log->stats.slot_pages += kvm->logged[i].pages;
		if (kvm->logged[i].pages > largest)
			largest = kvm->logged[i].pages;
	}
	log->bitmap = calloc(page_bitmap_words(largest) + 1, sizeof(uint64_t));
	if (log->bitmap == NULL) {
		snprintf(err, err_size, "dirty log: out of memory");
		return -1;
	}
	if (harvest(log) < 0) {
		snprintf(err, err_size, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
		return -1;
	}
	for (unsigned int i = 0; i < kvm->nr_logged; i++) {
		size_t words = page_bitmap_words(kvm->logged[i].pages) + 1;

		if ((keep && (log->since[i] = calloc(words, sizeof(uint64_t))) == NULL) ||
		    (sample_ && (log->cycle[i] = calloc(words, sizeof(uint64_t))) == NULL)) {
			snprintf(err, err_size, "dirty log: out of memory");
			return -1;
		}
	}
	log->started_ns = log->last_ns = monotonic_ns();
	if (!sample_)
		return 0;
	if (device_eventfds((int *const[]){&log->stop_fd}, 1, "dirty log", err, err_size) < 0 ||
	    device_thread_start(&log->thread, sampler, log, SANDBOX_DIRTY_LOG, err, err_size) < 0)
		return -1;
	log->sampling = true;
	return 0;
}

void dirty_log_stop(struct dirty_log *log, struct dirty_stats *stats)
{
	uint64_t one = 1;

	*stats = (struct dirty_stats){0};
	if (!log->started)
		return;
	if (log->stopped) {
		*stats = log->stats;
		return;
	}
	log->stopped = true;
	if (log->sampling) {
		if (write(log->stop_fd, &one, sizeof(one)) < 0)
			abort(); /* an eventfd at zero always takes one */
		pthread_join(log->thread, NULL);
		log->sampling = false;
	}
	if (log->stop_fd >= 0)
		close(log->stop_fd);
	log->stop_fd = -1;
	if (log->bitmap != NULL)
		sample(log);
	*stats = log->stats;
}

int dirty_log_harvest(struct dirty_log *log)
{
	if (!log->started || log->stopped || log->bitmap == NULL)
		return -1;
	sample(log);
	return log->failed ? -1 : 0;
}

void dirty_log_forget(struct dirty_log *log)
{
	pthread_mutex_lock(&log->lock);
	for (unsigned int i = 0; i < log->kvm->nr_logged; i++)
		if (log->since[i] != NULL)
			memset(log->since[i], 0,
			       page_bitmap_words(log->kvm->logged[i].pages) * sizeof(uint64_t));
	pthread_mutex_unlock(&log->lock);
}

/* Counts and empties the cycle's bitmaps; with the lock held. */
static uint64_t close_cycle(struct dirty_log *log)
{
	uint64_t pages = 0;

	for (unsigned int i = 0; i < log->kvm->nr_logged; i++) {
		size_t words = page_bitmap_words(log->kvm->logged[i].pages);

		for (size_t w = 0; w < words; w++)
			pages += __builtin_popcountll(log->cycle[i][w]);
		memset(log->cycle[i], 0, words * sizeof(uint64_t));
	}
	return pages;
}

void dirty_log_gc_done(struct dirty_log *log)
{
	uint64_t pages;

	if (!log->sampling)
		return;
	sample(log);
	pthread_mutex_lock(&log->lock);
	pages = close_cycle(log);
	if (log->stats.gcs < DIRTY_LOG_GC_LISTED)
		log->stats.gc_pages[log->stats.gcs] = pages;
	log->stats.gcs++;
	log->stats.gc_pages_sum += pages;
	if (pages > log->stats.gc_pages_max)
		log->stats.gc_pages_max = pages;
	pthread_mutex_unlock(&log->lock);
}

void dirty_log_free(struct dirty_log *log)
{
	if (!log->started)
		return;
	free(log->bitmap);
	log->bitmap = NULL;
	for (unsigned int i = 0; i < KVM_VM_MAX_LOGGED; i++) {
		free(log->since[i]);
		free(log->cycle[i]);
		log->since[i] = log->cycle[i] = NULL;
	}
	pthread_mutex_destroy(&log->lock);
	log->started = false;
}
