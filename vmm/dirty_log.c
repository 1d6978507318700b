/* SPDX-License-Identifier: MIT */
#include "dirty_log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "device_thread.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t bitmap_words(uint64_t pages)
{
	return (pages + 63) / 64;
}

int64_t dirty_log_harvest(const struct kvm_vm *kvm, uint64_t *bitmap)
{
	int64_t dirty = 0;

	for (unsigned int i = 0; i < kvm->nr_logged; i++) {
		size_t words = bitmap_words(kvm->logged[i].pages);
		struct kvm_dirty_log log = {.slot = kvm->logged[i].slot, .dirty_bitmap = bitmap};

		/* KVM fills the bitmap rounded up to 64 bits, and clears it
		 * in the kernel while it copies: each call returns only the
		 * pages written since the last. */
		if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -1;
		for (size_t w = 0; w < words; w++)
			dirty += __builtin_popcountll(bitmap[w]);
	}
	return dirty;
}

/* A window's harvest, timed, into the figures. */
static void sample(struct dirty_log *log)
{
	uint64_t start = now_ns(), end;
	int64_t dirty = dirty_log_harvest(log->kvm, log->bitmap);

	end = now_ns();
	if (dirty < 0)
		return;
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

static void *sampler(void *arg)
{
	struct dirty_log *log = arg;
	struct pollfd stop = {.fd = log->stop_fd, .events = POLLIN};

	for (;;) {
		int ready = poll(&stop, 1, DIRTY_LOG_WINDOW_MS);

		if (ready > 0 || (ready < 0 && errno != EINTR))
			break;
		if (ready == 0)
			sample(log);
	}
	sample(log);
	return NULL;
}

int dirty_log_start(struct dirty_log *log, struct kvm_vm *kvm, char *err, size_t err_size)
{
	uint64_t largest = 0;

	*log = (struct dirty_log){.kvm = kvm, .stop_fd = -1};
	for (unsigned int i = 0; i < kvm->nr_logged; i++) {
		log->stats.slot_pages += kvm->logged[i].pages;
		if (kvm->logged[i].pages > largest)
			largest = kvm->logged[i].pages;
	}
	log->bitmap = calloc(bitmap_words(largest) + 1, sizeof(uint64_t));
	if (log->bitmap == NULL) {
		snprintf(err, err_size, "dirty log: out of memory");
		return -1;
	}
	/* Whatever the set-up wrote is not the program's. */
	if (dirty_log_harvest(kvm, log->bitmap) < 0) {
		snprintf(err, err_size, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
		return -1;
	}
	log->started_ns = log->last_ns = now_ns();
	if (device_eventfds((int *const[]){&log->stop_fd}, 1, "dirty log", err, err_size) < 0 ||
	    device_thread_start(&log->thread, sampler, log, "dirty log", err, err_size) < 0)
		return -1;
	log->running = true;
	return 0;
}

void dirty_log_stop(struct dirty_log *log, struct dirty_stats *stats)
{
	uint64_t one = 1;

	if (log->running) {
		if (write(log->stop_fd, &one, sizeof(one)) < 0)
			abort(); /* an eventfd at zero always takes one */
		pthread_join(log->thread, NULL);
		log->running = false;
	}
	if (log->stop_fd >= 0)
		close(log->stop_fd);
	log->stop_fd = -1;
	free(log->bitmap);
	log->bitmap = NULL;
	*stats = log->stats;
}
