/* SPDX-License-Identifier: MIT */
#include "memory_reclaim.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lispvm_command.h"
#include "monotonic_time.h"
#include "reclaim_choice.h"
#include "vm_table.h"
#include "vm_usage.h"

/* How often the watcher looks at the host and the VMs. */
#define TICK_MS 1000

static struct reclaim_config config;

/* ---- one collection ---- */

static int run_lispvm_gc(const struct vm_target *t, char *err, size_t err_size)
{
	const char *argv[] = {vm_table_lispvm(), "gc", t->lispvm_name, NULL};

	/* lispvm gc gives the agent 300 s (AGENT_GC_TIMEOUT_MS). */
	return lispvm_command_run(argv, t->uid, 330, err, err_size);
}

static struct json_object *rss_or_null(bool known, uint64_t rss)
{
	return known ? json_object_new_int64((int64_t)rss) : NULL;
}

/* The collection in t, and the figures it leaves: 0 with *out and, if
 * known, *left (the guest memory after it), or 502. */
static unsigned int collect(const struct vm_target *t, const char *why, struct json_object **out,
			    uint64_t *left, char *err, size_t err_size)
{
	struct vm_usage before, after;
	bool had_before = vm_usage_get(t->pid, &before) == 0;
	double started = monotonic_seconds();
	struct json_object *r;

	if (run_lispvm_gc(t, err, err_size) < 0)
		return 502;
	bool had_after = vm_usage_get(t->pid, &after) == 0;

	if (had_after && left != NULL)
		*left = after.rss_anon;

	r = json_object_new_object();
	json_object_object_add(r, "why", json_object_new_string(why));
	json_object_object_add(r, "seconds", json_object_new_double(monotonic_seconds() - started));
	json_object_object_add(r, "rss_before", rss_or_null(had_before, before.rss));
	json_object_object_add(r, "rss_after", rss_or_null(had_after, after.rss));
	json_object_object_add(r, "rss_anon_before", rss_or_null(had_before, before.rss_anon));
	json_object_object_add(r, "rss_anon_after", rss_or_null(had_after, after.rss_anon));
	/* A copy for the event: json-c's reference counts are not atomic. */
	struct json_object *copy = NULL;

	json_object_deep_copy(r, &copy, NULL);
	vm_table_publish(t->id, "reclaimed", "reclaimed", copy);
	*out = r;
	return 0;
}

unsigned int memory_reclaim_vm(uid_t uid, const char *ref, struct json_object **out, char *err,
			       size_t err_size)
{
	struct vm_target t;

	if (vm_table_target(uid, ref, &t) != 0) {
		snprintf(err, err_size, "no such VM: %s", ref);
		return 404;
	}
	if (t.pid == 0) {
		snprintf(err, err_size, "the VM is not running (it is starting, or has ended)");
		return 409;
	}
	if (!t.attachable) {
		snprintf(err, err_size,
			 "the VM has no attach agent to collect its garbage "
			 "(create it with \"attachable\": true)");
		return 409;
	}
	return collect(&t, "asked", out, NULL, err, err_size);
}

/* ---- the watcher ---- */

/* MemAvailable in bytes, or 0 when unknown. */
static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib * 1024;
}

/* PSI's "some avg10" for memory, in percent; 0 without PSI. */
static double psi_some_avg10(void)
{
	double avg10 = 0;
	FILE *f = fopen("/proc/pressure/memory", "re");

	if (f == NULL)
		return 0;
	if (fscanf(f, "some avg10=%lf", &avg10) != 1)
		avg10 = 0;
	fclose(f);
	return avg10;
}

enum pressure { NO_PRESSURE, LOW_AVAILABLE, STALLS };

static enum pressure pressure_now(void)
{
	uint64_t available;

	if (config.below != 0 && (available = mem_available()) != 0 && available < config.below)
		return LOW_AVAILABLE;
	if (config.psi_some > 0 && psi_some_avg10() >= config.psi_some)
		return STALLS;
	return NO_PRESSURE;
}

/* The last tick's VMs. */
static struct {
	struct reclaim_seen *vms;
	size_t n;
} memory;

static const struct reclaim_seen *recall(const char *id)
{
	for (size_t i = 0; i < memory.n; i++)
		if (strcmp(memory.vms[i].target.id, id) == 0)
			return &memory.vms[i];
	return NULL;
}

static void sample(struct reclaim_seen *s)
{
	s->known = vm_usage_get(s->target.pid, &s->usage) == 0;
	s->when = monotonic_seconds();
}

/* This tick's VMs with what the last tick knew of them. */
static void look(const struct vm_target *targets, size_t n)
{
	struct reclaim_seen *vms = calloc(n ? n : 1, sizeof(*vms));

	if (vms == NULL)
		return; /* the last tick's samples stay, each with its own target */
	for (size_t i = 0; i < n; i++) {
		vms[i].target = targets[i];
		sample(&vms[i]);
		reclaim_seen_update(&vms[i], recall(targets[i].id));
	}
	free(memory.vms);
	memory.vms = vms;
	memory.n = n;
}

/* While available memory is short, one VM after another; on PSI alone,
 * one a tick: its 10 s average stays high for a while after memory is
 * freed, and would have every idle VM asked at once.  Collections can take
 * longer than the cooldown, so the chosen VM is sampled again first: one
 * asked earlier in this loop shows what it has now, not the tick's figure. */
static void ask_back(void)
{
	enum pressure p;
	struct reclaim_seen *best;

	while ((p = pressure_now()) != NO_PRESSURE &&
	       (best = reclaim_biggest_idle(memory.vms, memory.n, monotonic_seconds())) != NULL) {
		struct json_object *result = NULL;
		char err[512];

		best->asked = monotonic_seconds();
		sample(best);
		if (!reclaim_worth_asking(best))
			continue;
		if (collect(&best->target, "pressure", &result, &best->left, err, sizeof(err)) != 0)
			fprintf(stderr, "lispvmd: asking VM %s for memory: %s\n", best->target.id,
				err);
		json_object_put(result);
		if (p == STALLS)
			break;
	}
}

static void *watch_memory(void *unused)
{
	(void)unused;
	while (!vm_table_closing()) {
		size_t n;
		struct vm_target *targets = vm_table_attachable(&n);

		look(targets, n);
		free(targets);
		ask_back();
		nanosleep(&(struct timespec){.tv_sec = TICK_MS / 1000,
					     .tv_nsec = (TICK_MS % 1000) * 1000000L},
			  NULL);
	}
	return NULL;
}

int memory_reclaim_start(const struct reclaim_config *c, char *err, size_t err_size)
{
	pthread_t watcher;

	config = *c;
	if (config.below == 0 && config.psi_some <= 0)
		return 0;
	if (pthread_create(&watcher, NULL, watch_memory, NULL) != 0 ||
	    pthread_detach(watcher) != 0) {
		snprintf(err, err_size, "cannot start the memory watcher");
		return -1;
	}
	return 0;
}
