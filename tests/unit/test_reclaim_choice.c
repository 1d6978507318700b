/* SPDX-License-Identifier: MIT */
/* The memory watcher's choices (daemon/reclaim_choice.c): which VM it asks
 * for a collection, and which it leaves alone. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "reclaim_choice.h"

#define MIB (1ull << 20)

/* A VM seen at two ticks, one second apart, using cpu seconds of CPU
 * between them and holding rss_anon at the second. */
static void seen_twice(struct reclaim_seen *s, const char *id, double cpu, uint64_t rss_anon,
		       const struct reclaim_seen *prior)
{
	struct reclaim_seen was = {.known = true, .when = 100, .usage = {.cpu_seconds = 5}};

	if (prior != NULL)
		was = *prior;
	memset(s, 0, sizeof(*s));
	snprintf(s->target.id, sizeof(s->target.id), "%s", id);
	s->known = true;
	s->when = was.when + 1;
	s->usage.cpu_seconds = was.usage.cpu_seconds + cpu;
	s->usage.rss_anon = rss_anon;
	reclaim_seen_update(s, &was);
}

static void test_biggest_idle_first(void)
{
	struct reclaim_seen vms[3];

	seen_twice(&vms[0], "small", 0, 20 * MIB, NULL);
	seen_twice(&vms[1], "big", 0.01, 70 * MIB, NULL);
	seen_twice(&vms[2], "busy", 0.5, 200 * MIB, NULL); /* computing: not idle */
	CHECK(vms[0].idle && vms[1].idle && !vms[2].idle);
	CHECK(reclaim_biggest_idle(vms, 3, 101) == &vms[1]);
}

/* A VM seen once has no rate yet; one whose figures are unknown is not
 * idle either. */
static void test_unknown_is_not_idle(void)
{
	struct reclaim_seen s = {.known = true, .when = 100, .usage = {.rss_anon = 70 * MIB}};
	struct reclaim_seen gone;

	reclaim_seen_update(&s, NULL);
	CHECK(!s.idle && reclaim_biggest_idle(&s, 1, 100) == NULL);
	seen_twice(&gone, "gone", 0, 70 * MIB, NULL);
	gone.known = false;
	CHECK(!reclaim_worth_asking(&gone));
}

/* Too little memory to be worth a full collection. */
static void test_small_is_left_alone(void)
{
	struct reclaim_seen s;

	seen_twice(&s, "tiny", 0, 7 * MIB, NULL);
	CHECK(s.idle && reclaim_biggest_idle(&s, 1, 101) == NULL);
}

/* Asked, it is left alone for the cooldown; after it, only if it grew by
 * RECLAIM_MIN_GROWTH over what its collection left: a collection that
 * outlasts the cooldown must not lead to asking again a VM whose garbage
 * is already gone (the 20-VM reclaim run asked one at 7.4 MiB). */
static void test_asked_again_only_after_growth(void)
{
	struct reclaim_seen s, later, grown;

	seen_twice(&s, "g6", 0, 75 * MIB, NULL);
	CHECK(reclaim_biggest_idle(&s, 1, 101) == &s);
	s.asked = 101;
	s.left = 10 * MIB; /* what its collection left */
	s.usage.rss_anon = 10 * MIB;
	CHECK(reclaim_biggest_idle(&s, 1, 120) == NULL);
	seen_twice(&later, "g6", 0, 12 * MIB, &s);
	CHECK(later.asked == 101 && later.left == 10 * MIB);
	CHECK(reclaim_biggest_idle(&later, 1, 101 + RECLAIM_COOLDOWN_SECONDS + 1) == NULL);
	seen_twice(&grown, "g6", 0, 40 * MIB, &later);
	CHECK(reclaim_biggest_idle(&grown, 1, 101 + RECLAIM_COOLDOWN_SECONDS - 1) == NULL);
	CHECK(reclaim_biggest_idle(&grown, 1, 101 + RECLAIM_COOLDOWN_SECONDS + 1) == &grown);
}

/* A VM that shrank on its own lowers its floor, and growth counts from
 * there. */
static void test_floor_follows_shrinking(void)
{
	struct reclaim_seen s, shrunk, grown;

	seen_twice(&s, "v", 0, 60 * MIB, NULL);
	s.asked = 1;
	s.left = 50 * MIB;
	seen_twice(&shrunk, "v", 0, 5 * MIB, &s);
	CHECK(shrunk.left == 5 * MIB);
	seen_twice(&grown, "v", 0, 20 * MIB, &shrunk);
	CHECK(reclaim_biggest_idle(&grown, 1, 1000) == &grown);
}

int main(void)
{
	test_biggest_idle_first();
	test_unknown_is_not_idle();
	test_small_is_left_alone();
	test_asked_again_only_after_growth();
	test_floor_follows_shrinking();
	return check_result("reclaim_choice");
}
