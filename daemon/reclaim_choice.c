/* SPDX-License-Identifier: MIT */
#include "reclaim_choice.h"

void reclaim_seen_update(struct reclaim_seen *s, const struct reclaim_seen *was)
{
	s->asked = was ? was->asked : 0;
	s->left = was ? was->left : 0;
	if (s->known && s->usage.rss_anon < s->left) /* it shrank since: a lower floor */
		s->left = s->usage.rss_anon;
	s->idle = s->known && was != NULL && was->known && s->when > was->when &&
		  (s->usage.cpu_seconds - was->usage.cpu_seconds) / (s->when - was->when) <
			  RECLAIM_IDLE_SHARE;
}

bool reclaim_worth_asking(const struct reclaim_seen *s)
{
	return s->known && s->usage.rss_anon >= s->left + RECLAIM_MIN_GROWTH;
}

struct reclaim_seen *reclaim_biggest_idle(struct reclaim_seen *vms, size_t n, double now)
{
	struct reclaim_seen *best = NULL;

	for (size_t i = 0; i < n; i++) {
		struct reclaim_seen *s = &vms[i];

		if (!s->idle || !reclaim_worth_asking(s) ||
		    (s->asked != 0 && now - s->asked < RECLAIM_COOLDOWN_SECONDS))
			continue;
		if (best == NULL || s->usage.rss_anon > best->usage.rss_anon)
			best = s;
	}
	return best;
}
