/* SPDX-License-Identifier: MIT */
#include "memory_report.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORT_REGIONS 16

/* Which region a mapping starting at `start` belongs to; n: none. */
static unsigned int region_of(const struct memory_report_region *regions, unsigned int n,
			      uintptr_t start)
{
	for (unsigned int i = 0; i < n; i++) {
		uintptr_t base = (uintptr_t)regions[i].host;

		if (start >= base && start - base < regions[i].size)
			return i;
	}
	return n;
}

static void add_field(struct memory_usage *u, const char *line)
{
	uint64_t kib;

	if (sscanf(line, "%*[^:]: %" SCNu64 " kB", &kib) != 1)
		return;
	if (strncmp(line, "Rss:", 4) == 0)
		u->rss += kib;
	else if (strncmp(line, "Pss:", 4) == 0)
		u->pss += kib;
	else if (strncmp(line, "Shared_", 7) == 0)
		u->shared += kib;
	else if (strncmp(line, "Private_", 8) == 0)
		u->private_ += kib;
}

int memory_usage_measure(FILE *smaps, const struct memory_report_region *regions, unsigned int n,
			 struct memory_usage *usage, struct memory_usage *total)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned int cur = n;

	if (smaps == NULL)
		return -1;
	memset(usage, 0, n * sizeof(*usage));
	memset(total, 0, sizeof(*total));
	/* getline: a mapping's path may be as long as PATH_MAX. */
	while (getline(&line, &cap, smaps) > 0) {
		uintptr_t start, end;

		/* Mapping headers are "start-end perms ..."; fields "Name: value". */
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2) {
			cur = region_of(regions, n, start);
			continue;
		}
		add_field(total, line);
		if (cur < n)
			add_field(&usage[cur], line);
	}
	free(line);
	return 0;
}

static double mib(uint64_t kib)
{
	return (double)kib / 1024.0;
}

static double pages_mib(uint64_t pages)
{
	return (double)pages * LISPVM_PAGE_SIZE / (1024.0 * 1024.0);
}

/* One line: a label padded so at least two spaces precede the figure
 * (tests and scripts split on that), then a note. */
static void row_mib(FILE *out, const char *label, double value, const char *note)
{
	fprintf(out, "  %-28s %9.1f MiB%s%s\n", label, value, *note ? "  " : "", note);
}

static void row_count(FILE *out, const char *label, uint64_t value)
{
	fprintf(out, "  %-28s %9" PRIu64 "\n", label, value);
}

static void print_guest(FILE *out, const struct lispvm_memory_stats *g)
{
	row_mib(out, "guest RAM touched", pages_mib(g->touched_pages),
		"(ever handed out by the guest)");
	row_mib(out, "guest RAM in use", pages_mib(g->in_use_pages), "");
	row_mib(out, "guest RAM returned", pages_mib(g->returned_pages),
		"(given back to the host, unused since)");
	row_mib(out, "returned over the run", pages_mib(g->discarded_total), "");
	row_count(out, "page faults", g->page_faults);
	row_count(out, "image pages mapped shared", g->image_page_maps);
	row_count(out, "copy-on-write copies", g->cow_copies);
}

void memory_report_print(FILE *out, FILE *smaps, const struct lispvm_memory_stats *guest,
			 uint64_t ram_bytes, const struct memory_report_region *regions,
			 unsigned int nr_ram, unsigned int n)
{
	struct memory_usage usage[MAX_REPORT_REGIONS], total, ram = {0};

	if (n > MAX_REPORT_REGIONS)
		n = MAX_REPORT_REGIONS;
	fprintf(out, "lispvm stats:\n");
	row_mib(out, "guest RAM size", (double)ram_bytes / (1 << 20), "");
	if (guest != NULL)
		print_guest(out, guest);
	else
		fprintf(out, "  (the guest did not exit cleanly: no guest figures)\n");
	if (memory_usage_measure(smaps, regions, n, usage, &total) < 0) {
		fprintf(out, "  (cannot read /proc/self/smaps)\n");
		return;
	}
	for (unsigned int i = 0; i < nr_ram; i++) {
		ram.rss += usage[i].rss;
		ram.pss += usage[i].pss;
	}
	row_mib(out, "host RSS of guest RAM", mib(ram.rss), "");
	for (unsigned int i = nr_ram; i < n; i++) {
		char label[32], note[PATH_MAX + 96];

		snprintf(label, sizeof(label), "host RSS of image %u", i - nr_ram);
		snprintf(note, sizeof(note), "(shared %.1f, private %.1f, PSS %.1f) %s",
			 mib(usage[i].shared), mib(usage[i].private_), mib(usage[i].pss),
			 regions[i].name);
		row_mib(out, label, mib(usage[i].rss), note);
	}
	row_mib(out, "host RSS of the VMM", mib(total.rss), "(all of this process)");
	row_mib(out, "host PSS of the VMM", mib(total.pss), "");
}

/* The pages a diff snapshot taken after each collection would hold. */
static void print_gc_cycles(FILE *out, const struct dirty_stats *d)
{
	char list[DIRTY_LOG_GC_LISTED * 21 + 8] = "", *p = list;
	uint64_t listed = d->gcs < DIRTY_LOG_GC_LISTED ? d->gcs : DIRTY_LOG_GC_LISTED;

	row_count(out, "GC cycles", d->gcs);
	if (d->gcs == 0)
		return;
	for (uint64_t i = 0; i < listed; i++)
		p += sprintf(p, "%s%" PRIu64, i ? " " : "(", d->gc_pages[i]);
	strcpy(p, d->gcs > listed ? " ...)" : ")");
	fprintf(out, "  %-28s %9" PRIu64 "  %s\n", "dirtied per GC cycle", d->gc_pages_sum / d->gcs,
		list);
	row_count(out, "dirtied per GC cycle, max", d->gc_pages_max);
}

void memory_report_print_dirty(FILE *out, const struct dirty_stats *d)
{
	double seconds;
	char note[96];

	if (d == NULL)
		return;
	seconds = (double)d->elapsed_ns / 1e9;
	snprintf(note, sizeof(note), "(KVM's log, %d ms windows, of %" PRIu64 " pages)",
		 DIRTY_LOG_WINDOW_MS, d->slot_pages);
	fprintf(out, "  %-28s %9" PRIu64 "  %s\n", "pages dirtied", d->pages, note);
	row_count(out, "pages dirtied per s", seconds > 0 ? (uint64_t)(d->pages / seconds) : 0);
	row_count(out, "pages dirtied per s, peak", d->peak_per_s);
	fprintf(out, "  %-28s %9.3f ms  (%" PRIu64 " harvests, %.3f ms each)\n",
		"harvest per 10,000 pages", d->pages ? d->harvest_ns / 1e6 * 10000 / d->pages : 0.0,
		d->harvests, d->harvests ? d->harvest_ns / 1e6 / d->harvests : 0.0);
	print_gc_cycles(out, d);
}

void memory_report_print_prefetch(FILE *out, const struct working_set_stats *p)
{
	fprintf(out, "  %-28s %9" PRIu64 "  (%" PRIu64 " read, %" PRIu64 " written, %.3f ms)\n",
		"pages prefetched", p->read_pages + p->written_pages, p->read_pages,
		p->written_pages, (double)p->elapsed_ns / 1e6);
}
