/* SPDX-License-Identifier: MIT */
/* Which VM the memory watcher (memory_reclaim.c) asks for a collection:
 * the decisions on what it sampled, kept apart from /proc and the VM
 * table so that a unit test can drive them. */
#ifndef LISPVM_DAEMON_RECLAIM_CHOICE_H
#define LISPVM_DAEMON_RECLAIM_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm_table.h"
#include "vm_usage.h"

/* A VM that used less than this share of a CPU since the last look is idle. */
#define RECLAIM_IDLE_SHARE 0.05
/* A VM asked once is not asked again for this long. */
#define RECLAIM_COOLDOWN_SECONDS 60.0
/* A VM is worth asking only when its guest memory is at least this much
 * above what its last collection left (or above nothing, if never asked):
 * less is not garbage enough to pay for a full collection. */
#define RECLAIM_MIN_GROWTH (8u << 20)

/* What the watcher knows of a VM at a tick: with its target, so that a
 * sample never names another VM. */
struct reclaim_seen {
	struct vm_target target;
	struct vm_usage usage; /* at this tick, if known */
	bool known;
	double when;   /* when usage was read */
	double asked;  /* when it was last asked; 0 never */
	uint64_t left; /* its rss_anon after that collection; 0 unknown */
	bool idle;
};

/* s has this tick's target, usage, known and when; was is the same VM at
 * the last tick, or NULL.  Carries what was asked over and decides idle
 * (ticks are further apart after a collection, so it is a rate). */
void reclaim_seen_update(struct reclaim_seen *s, const struct reclaim_seen *was);

bool reclaim_worth_asking(const struct reclaim_seen *s);

/* The idle VM with the most guest memory that is worth asking and was not
 * asked lately, or NULL. */
struct reclaim_seen *reclaim_biggest_idle(struct reclaim_seen *vms, size_t n, double now);

#endif
