/* SPDX-License-Identifier: MIT */
#include "working_set.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "file_io.h"
#include "monotonic_clock.h"
#include "snapshot_file.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

/* /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst). */
#define PAGEMAP_PRESENT	  (1ull << 63)
#define PAGEMAP_SWAPPED	  (1ull << 62)
#define PAGEMAP_FILE	  (1ull << 61) /* a file page (or shared anonymous) */
#define PAGEMAP_EXCLUSIVE (1ull << 56) /* mapped once: not the shared zero page */
#define PAGEMAP_CHUNK	  4096u	       /* entries read at a time */

struct run_list {
	struct working_set_run *runs;
	uint64_t n, max;
	uint64_t region_first; /* the first run of the region being read */
};

int working_set_open_pagemap(char *err, size_t err_size)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		snprintf(err, err_size, "cannot record a working set: /proc/self/pagemap: %s",
			 strerror(errno));
	return fd;
}

/* A private copy (anonymous, mapped once) was written; the zero page and
 * the file's own pages were only read.  A swapped-out page was touched:
 * in writable RAM only ever as a private copy. */
static uint32_t page_kind(uint64_t entry, bool writable)
{
	if (entry & PAGEMAP_SWAPPED)
		return writable ? WORKING_SET_WRITTEN : WORKING_SET_READ;
	if (!(entry & PAGEMAP_PRESENT))
		return 0;
	if (writable && !(entry & PAGEMAP_FILE) && (entry & PAGEMAP_EXCLUSIVE))
		return WORKING_SET_WRITTEN;
	return WORKING_SET_READ;
}

static int add_page(struct run_list *l, uint64_t gpa, uint32_t kind)
{
	/* A run never reaches into the region before: regions can touch
	 * (the kernel's text slot lies between two pieces of RAM), and a
	 * run must lie in one region to be mapped in. */
	struct working_set_run *last = l->n > l->region_first ? &l->runs[l->n - 1] : NULL;

	if (last != NULL && last->kind == kind && last->pages < UINT32_MAX &&
	    last->gpa + (uint64_t)last->pages * LISPVM_PAGE_SIZE == gpa) {
		last->pages++;
		return 0;
	}
	if (l->n == WORKING_SET_MAX_RUNS)
		return -1;
	if (l->n == l->max) {
		uint64_t max = l->max ? l->max * 2 : 1024;
		struct working_set_run *runs = realloc(l->runs, max * sizeof(*runs));

		if (runs == NULL)
			return -1;
		l->runs = runs;
		l->max = max;
	}
	l->runs[l->n++] = (struct working_set_run){.gpa = gpa, .pages = 1, .kind = kind};
	return 0;
}

static int record_region(const struct guest_region *r, int pagemap_fd, struct run_list *l,
			 struct working_set_stats *stats, char *err, size_t err_size)
{
	static uint64_t entries[PAGEMAP_CHUNK];
	uint64_t pages = r->size / LISPVM_PAGE_SIZE;
	uint64_t first = (uint64_t)(uintptr_t)r->host / LISPVM_PAGE_SIZE;

	l->region_first = l->n;
	for (uint64_t done = 0; done < pages;) {
		uint64_t n = pages - done < PAGEMAP_CHUNK ? pages - done : PAGEMAP_CHUNK;

		if (file_pread_all(pagemap_fd, entries, n * sizeof(entries[0]),
				   (first + done) * sizeof(entries[0])) < 0) {
			snprintf(err, err_size, "cannot record a working set: pagemap: %s",
				 strerror(errno));
			return -1;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint32_t kind = page_kind(entries[i], r->writable);

			if (kind == 0)
				continue;
			if (add_page(l, r->gpa + (done + i) * LISPVM_PAGE_SIZE, kind) < 0) {
				snprintf(err, err_size,
					 "cannot record a working set: out of memory or more "
					 "than %u runs",
					 WORKING_SET_MAX_RUNS);
				return -1;
			}
			if (kind == WORKING_SET_WRITTEN)
				stats->written_pages++;
			else
				stats->read_pages++;
		}
		done += n;
	}
	return 0;
}

/* The region with the lowest address above after's (the first, when
 * after is NULL), or NULL. */
static const struct guest_region *next_region(const struct guest_memory *mem,
					      const struct guest_region *after)
{
	const struct guest_region *next = NULL;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if ((after == NULL || r->gpa > after->gpa) && (next == NULL || r->gpa < next->gpa))
			next = r;
	}
	return next;
}

static int write_file(const struct run_list *l, const struct working_set_origin *origin,
		      const char *path, char *err, size_t err_size)
{
	struct snapshot_writer *w = calloc(1, sizeof(*w));
	struct snapshot_base *of = calloc(1, sizeof(*of));
	int rc = -1;

	if (w == NULL || of == NULL) {
		snprintf(err, err_size, "cannot record a working set: out of memory");
		goto out;
	}
	of->header_checksum = origin->snapshot_checksum;
	snprintf(of->path, sizeof(of->path), "%s", origin->snapshot_path);
	if (snapshot_writer_open(w, path, origin->runtime_hash, origin->memory_size, err,
				 err_size) < 0)
		goto out;
	w->header.flags |= SNAPSHOT_FLAG_WORKING_SET;
	if (snapshot_writer_add(w, SNAPSHOT_SECTION_WS_SNAPSHOT, of, sizeof(*of), err, err_size) <
		    0 ||
	    snapshot_writer_add(w, SNAPSHOT_SECTION_WS_RUNS, l->runs, l->n * sizeof(*l->runs), err,
				err_size) < 0 ||
	    snapshot_writer_commit(w, err, err_size) < 0)
		snapshot_writer_abort(w);
	else
		rc = 0;
out:
	free(w);
	free(of);
	return rc;
}

int working_set_record(const struct guest_memory *mem, int pagemap_fd,
		       const struct working_set_origin *origin, const char *path,
		       struct working_set_stats *stats, char *err, size_t err_size)
{
	struct run_list l = {0};
	uint64_t start = monotonic_ns();
	int rc = 0;

	*stats = (struct working_set_stats){0};
	/* In address order, which the file's runs keep. */
	for (const struct guest_region *r = next_region(mem, NULL); r != NULL && rc == 0;
	     r = next_region(mem, r))
		rc = record_region(r, pagemap_fd, &l, stats, err, err_size);
	if (rc == 0)
		rc = write_file(&l, origin, path, err, err_size);
	stats->elapsed_ns = monotonic_ns() - start;
	free(l.runs);
	return rc;
}

/* ---- prefetch ---- */

static int bad_file(char *err, size_t err_size, const char *path, const char *why)
{
	snprintf(err, err_size, "working set %s: %s", path, why);
	return -1;
}

/* Runs in address order, inside guest memory, written ones in writable
 * RAM: a damaged file must not make the VMM touch anything else. */
static int check_runs(const struct guest_memory *mem, const struct working_set_run *runs,
		      uint64_t n, const char *path, char *err, size_t err_size)
{
	uint64_t next = 0;

	for (uint64_t i = 0; i < n; i++) {
		const struct working_set_run *r = &runs[i];
		uint64_t len = (uint64_t)r->pages * LISPVM_PAGE_SIZE;

		if (r->pages == 0 || r->gpa % LISPVM_PAGE_SIZE != 0 || r->gpa < next ||
		    (r->kind != WORKING_SET_READ && r->kind != WORKING_SET_WRITTEN) ||
		    guest_memory_access(mem, r->gpa, len, GUEST_READ) == NULL ||
		    (r->kind == WORKING_SET_WRITTEN && !guest_memory_writable(mem, r->gpa, len)))
			return bad_file(err, err_size, path,
					"corrupt (a run of pages out of order, of no kind, or "
					"outside this VM's memory)");
		next = r->gpa + len;
	}
	return 0;
}

static int check_origin(const struct snapshot_file *f, const struct working_set_origin *origin,
			const char *path, char *err, size_t err_size)
{
	struct snapshot_base of;
	char why[400];

	if (!(f->header.flags & SNAPSHOT_FLAG_WORKING_SET))
		return bad_file(err, err_size, path,
				"a snapshot, not a working set (run --record-working-set "
				"writes one)");
	if (snapshot_file_read(f, SNAPSHOT_SECTION_WS_SNAPSHOT, &of, sizeof(of), err, err_size) < 0)
		return -1;
	if (of.header_checksum != origin->snapshot_checksum) {
		of.path[sizeof(of.path) - 1] = '\0';
		snprintf(why, sizeof(why), "recorded from another snapshot (%.160s), not %.160s",
			 of.path, origin->snapshot_path);
		return bad_file(err, err_size, path, why);
	}
	return 0;
}

int working_set_load(const struct guest_memory *mem, const struct working_set_origin *origin,
		     const char *path, struct working_set_run **runs, uint64_t *nr_runs, char *err,
		     size_t err_size)
{
	struct snapshot_file *f = calloc(1, sizeof(*f));
	void *array = NULL;
	int rc = -1;

	*runs = NULL;
	*nr_runs = 0;
	if (f == NULL) {
		snprintf(err, err_size, "out of memory reading working set %s", path);
		return -1;
	}
	if (snapshot_file_open(f, path, err, err_size) < 0) {
		free(f);
		return -1;
	}
	if (check_origin(f, origin, path, err, err_size) == 0 &&
	    snapshot_file_read_array(f, SNAPSHOT_SECTION_WS_RUNS, sizeof(**runs),
				     WORKING_SET_MAX_RUNS, &array, nr_runs, err, err_size) == 0 &&
	    check_runs(mem, array, *nr_runs, path, err, err_size) == 0) {
		*runs = array;
		array = NULL;
		rc = 0;
	}
	free(array);
	snapshot_file_close(f);
	free(f);
	return rc;
}

/* Without MADV_POPULATE_* (Linux before 5.14): a read of each page maps
 * it, as the guest's first read would. */
static void touch_pages(const uint8_t *host, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += LISPVM_PAGE_SIZE)
		(void)*(const volatile uint8_t *)(host + off);
}

int working_set_populate(const struct guest_memory *mem, const struct working_set_run *runs,
			 uint64_t nr_runs, struct working_set_stats *stats, char *err,
			 size_t err_size)
{
	uint64_t start = monotonic_ns();
	int rc = 0;

	*stats = (struct working_set_stats){0};
	for (uint64_t i = 0; i < nr_runs; i++) {
		const struct working_set_run *r = &runs[i];
		uint64_t len = (uint64_t)r->pages * LISPVM_PAGE_SIZE;
		uint8_t *host = guest_memory_access(mem, r->gpa, len, GUEST_READ);
		int advice =
			r->kind == WORKING_SET_WRITTEN ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;

		errno = 0;

		if (host == NULL) {
			snprintf(err, err_size, "prefetch: a run outside guest memory");
			rc = -1;
			break;
		}
		if (madvise(host, len, advice) < 0 && errno != EINVAL) {
			snprintf(err, err_size, "prefetch: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (errno == EINVAL)
			touch_pages(host, len);
		if (r->kind == WORKING_SET_WRITTEN)
			stats->written_pages += r->pages;
		else
			stats->read_pages += r->pages;
	}
	stats->elapsed_ns = monotonic_ns() - start;
	return rc;
}
