/* SPDX-License-Identifier: MIT */
#include "memory_report.h"

#include <inttypes.h>
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

int memory_usage_measure(const struct memory_report_region *regions, unsigned int n,
			 struct memory_usage *usage, struct memory_usage *total)
{
	FILE *smaps = fopen("/proc/self/smaps", "re");
	char line[512];
	unsigned int cur = n;

	if (smaps == NULL)
		return -1;
	memset(usage, 0, n * sizeof(*usage));
	memset(total, 0, sizeof(*total));
	while (fgets(line, sizeof(line), smaps) != NULL) {
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
	fclose(smaps);
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

static void print_guest(FILE *out, const struct lispvm_memory_stats *g)
{
	fprintf(out, "  guest RAM touched         %9.1f MiB  (ever handed out by the guest)\n",
		pages_mib(g->touched_pages));
	fprintf(out, "  guest RAM in use          %9.1f MiB\n", pages_mib(g->in_use_pages));
	fprintf(out, "  guest RAM returned        %9.1f MiB  (given back to the host, unused)\n",
		pages_mib(g->returned_pages));
	fprintf(out, "  returned over the run     %9.1f MiB\n", pages_mib(g->discarded_total));
	fprintf(out, "  page faults               %9" PRIu64 "\n", g->page_faults);
	fprintf(out, "  image pages mapped shared %9" PRIu64 "\n", g->image_page_maps);
	fprintf(out, "  copy-on-write copies      %9" PRIu64 "\n", g->cow_copies);
}

void memory_report_print(FILE *out, const struct lispvm_memory_stats *guest,
			 uint64_t ram_bytes, const struct memory_report_region *regions,
			 unsigned int nr_ram, unsigned int n)
{
	struct memory_usage usage[MAX_REPORT_REGIONS], total, ram = {0};

	if (n > MAX_REPORT_REGIONS)
		n = MAX_REPORT_REGIONS;
	fprintf(out, "lispvm stats:\n");
	fprintf(out, "  guest RAM size            %9.1f MiB\n", (double)ram_bytes / (1 << 20));
	if (guest != NULL)
		print_guest(out, guest);
	else
		fprintf(out, "  (the guest did not exit cleanly: no guest figures)\n");
	if (memory_usage_measure(regions, n, usage, &total) < 0) {
		fprintf(out, "  (cannot read /proc/self/smaps)\n");
		return;
	}
	for (unsigned int i = 0; i < nr_ram; i++) {
		ram.rss += usage[i].rss;
		ram.pss += usage[i].pss;
	}
	fprintf(out, "  host RSS of guest RAM     %9.1f MiB\n", mib(ram.rss));
	for (unsigned int i = nr_ram; i < n; i++)
		fprintf(out,
			"  host RSS of image %-7u %9.1f MiB  (shared %.1f, private %.1f, PSS %.1f) %s\n",
			i - nr_ram, mib(usage[i].rss), mib(usage[i].shared), mib(usage[i].private_),
			mib(usage[i].pss), regions[i].name);
	fprintf(out, "  host RSS of the VMM       %9.1f MiB  (PSS %.1f; all of this process)\n",
		mib(total.rss), mib(total.pss));
}
