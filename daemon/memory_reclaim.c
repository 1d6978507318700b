/* SPDX-License-Identifier: MIT */
#include "memory_reclaim.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lispvm_command.h"
#include "vm_table.h"
#include "vm_usage.h"

/* How often the watcher looks at the host and the VMs. */
#define TICK_MS 1000
/* A VM that used less than this share of a CPU since the last look is idle. */
#define IDLE_SHARE 0.05
/* A VM asked once is not asked again for this long. */
#define COOLDOWN_SECONDS 60.0
/* Below this much guest memory there is nothing worth asking for. */
#define MIN_RSS_ANON (8u << 20)

static struct reclaim_config config;

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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

/* The collection in t, and the figures it leaves: 0 with *out, or 502. */
static unsigned int collect(const struct vm_target *t, const char *why, struct json_object **out,
			    char *err, size_t err_size)
{
	struct vm_usage before, after;
	bool had_before = vm_usage_get(t->pid, &before) == 0;
	double started = now_seconds();
	struct json_object *r;

	if (run_lispvm_gc(t, err, err_size) < 0)
		return 502;
	bool had_after = vm_usage_get(t->pid, &after) == 0;

	r = json_object_new_object();
	json_object_object_add(r, "why", json_object_new_string(why));
	json_object_object_add(r, "seconds", json_object_new_double(now_seconds() - started));
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
	return collect(&t, "asked", out, err, err_size);
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

/* What the watcher remembers of a VM between ticks: with its target, so
 * that a sample never names another VM. */
struct seen {
	struct vm_target target;
	double cpu, when;      /* its CPU time, and when it was read; cpu < 0 unknown */
	double asked;	       /* when it was last asked; 0 never */
	struct vm_usage usage; /* at this tick */
	bool idle;
};

static struct {
	struct seen *vms;
	size_t n;
} memory;

static struct seen *recall(const char *id)
{
	for (size_t i = 0; i < memory.n; i++)
		if (strcmp(memory.vms[i].target.id, id) == 0)
			return &memory.vms[i];
	return NULL;
}

/* This tick's VMs with what the last tick knew of them.  Idle: under
 * IDLE_SHARE of a CPU since the last look (ticks are further apart after
 * a collection). */
static void look(const struct vm_target *targets, size_t n)
{
	struct seen *vms = calloc(n ? n : 1, sizeof(*vms));

	if (vms == NULL)
		return; /* the last tick's samples stay, each with its own target */
	for (size_t i = 0; i < n; i++) {
		const struct seen *was = recall(targets[i].id);
		struct seen *s = &vms[i];
		bool known = vm_usage_get(targets[i].pid, &s->usage) == 0;

		s->target = targets[i];
		s->asked = was ? was->asked : 0;
		s->when = now_seconds();
		s->cpu = known ? s->usage.cpu_seconds : -1;
		s->idle = known && was != NULL && was->cpu >= 0 && s->when > was->when &&
			  (s->cpu - was->cpu) / (s->when - was->when) < IDLE_SHARE;
	}
	free(memory.vms);
	memory.vms = vms;
	memory.n = n;
}

/* The idle VM holding the most guest memory that was not asked lately. */
static struct seen *biggest_idle(double now)
{
	struct seen *best = NULL;

	for (size_t i = 0; i < memory.n; i++) {
		struct seen *s = &memory.vms[i];

		if (!s->idle || s->usage.rss_anon < MIN_RSS_ANON ||
		    (s->asked != 0 && now - s->asked < COOLDOWN_SECONDS))
			continue;
		if (best == NULL || s->usage.rss_anon > best->usage.rss_anon)
			best = s;
	}
	return best;
}

/* While available memory is short, one VM after another; on PSI alone,
 * one a tick: its 10 s average stays high for a while after memory is
 * freed, and would have every idle VM asked at once. */
static void ask_back(void)
{
	enum pressure p;
	struct seen *best;

	while ((p = pressure_now()) != NO_PRESSURE &&
	       (best = biggest_idle(now_seconds())) != NULL) {
		struct json_object *result = NULL;
		char err[512];

		best->asked = now_seconds();
		if (collect(&best->target, "pressure", &result, err, sizeof(err)) != 0)
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
