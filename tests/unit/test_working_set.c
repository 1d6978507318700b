/* SPDX-License-Identifier: MIT */
/* A restored VM's working set: the pages the host has mapped are recorded
 * as read (the file's own, the zero page) or written (a private copy),
 * in runs; the file belongs to one snapshot and is refused for another,
 * as a snapshot, or when a run leaves guest memory or writes read-only
 * memory; populating it maps the pages in as recorded. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "snapshot_chain.h"
#include "snapshot_file.h"
#include "working_set.h"

#define PAGE	  4096u
#define RAM_GPA	  0x100000u
#define RAM_PAGES 16u
#define ROM_GPA	  0x800000u
#define ROM_PAGES 8u

static char ws_path[] = "/tmp/lispvm-test-ws-XXXXXX";
static char rom_path[] = "/tmp/lispvm-test-rom-XXXXXX";

static const struct working_set_origin origin = {
	.snapshot_path = "/snapshots/app.lvs",
	.snapshot_checksum = 0xfeedface,
	.runtime_hash = 0x1234,
	.memory_size = RAM_PAGES * PAGE,
};

struct vm_memory {
	struct guest_memory mem;
	uint8_t *ram, *rom;
};

/* The image file, made once. */
static void make_rom(void)
{
	int fd = mkstemp(rom_path);
	uint8_t page[PAGE];

	memset(page, 0x5a, sizeof(page));
	for (unsigned int i = 0; i < ROM_PAGES; i++)
		CHECK(write(fd, page, sizeof(page)) == (ssize_t)sizeof(page));
	close(fd);
}

static void map_memory(struct vm_memory *m)
{
	int fd = open(rom_path, O_RDONLY);

	memset(m, 0, sizeof(*m));
	m->ram = mmap(NULL, RAM_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	m->rom = mmap(NULL, ROM_PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(m->ram != MAP_FAILED && m->rom != MAP_FAILED);
	CHECK(guest_memory_add(&m->mem, RAM_GPA, RAM_PAGES * PAGE, m->ram, true) == 0);
	CHECK(guest_memory_add(&m->mem, ROM_GPA, ROM_PAGES * PAGE, m->rom, false) == 0);
}

static void unmap_memory(struct vm_memory *m)
{
	munmap(m->ram, RAM_PAGES * PAGE);
	munmap(m->rom, ROM_PAGES * PAGE);
}

static volatile uint8_t sink;

/* RAM: pages 2-4 written, page 8 read (the zero page, or on some kernels
 * a page of its own); the image: page 1 read (its neighbours may come
 * along: the kernel maps a file's cached pages around a fault). */
static void touch(struct vm_memory *m)
{
	memset(m->ram + 2 * PAGE, 1, 3 * PAGE);
	sink = m->ram[8 * PAGE];
	sink = m->rom[1 * PAGE];
}

static const struct working_set_run *run_at(const struct working_set_run *runs, uint64_t n,
					    uint64_t gpa)
{
	for (uint64_t i = 0; i < n; i++)
		if (gpa >= runs[i].gpa && gpa < runs[i].gpa + (uint64_t)runs[i].pages * PAGE)
			return &runs[i];
	return NULL;
}

static void test_record_and_load(void)
{
	struct vm_memory m;
	struct working_set_stats st;
	struct working_set_run *runs;
	uint64_t n;
	char err[512];
	int pagemap = working_set_open_pagemap(err, sizeof(err));

	CHECK(pagemap >= 0);
	map_memory(&m);
	touch(&m);
	CHECK(working_set_record(&m.mem, pagemap, &origin, ws_path, &st, err, sizeof(err)) == 0);
	CHECK(st.written_pages == 3 || st.written_pages == 4);
	CHECK(working_set_load(&m.mem, &origin, ws_path, &runs, &n, err, sizeof(err)) == 0);
	CHECK(n >= 3);
	CHECK(runs[0].gpa == RAM_GPA + 2 * PAGE && runs[0].pages == 3 &&
	      runs[0].kind == WORKING_SET_WRITTEN);
	CHECK(runs[1].gpa == RAM_GPA + 8 * PAGE && runs[1].pages == 1);
	CHECK(run_at(runs, n, RAM_GPA) == NULL && run_at(runs, n, RAM_GPA + 9 * PAGE) == NULL);
	CHECK(run_at(runs, n, ROM_GPA + PAGE) != NULL &&
	      run_at(runs, n, ROM_GPA + PAGE)->kind == WORKING_SET_READ);
	free(runs);

	/* Another snapshot's working set. */
	struct working_set_origin other = origin;

	other.snapshot_checksum++;
	CHECK(working_set_load(&m.mem, &other, ws_path, &runs, &n, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "recorded from another snapshot (/snapshots/app.lvs)");
	CHECK(runs == NULL);

	/* A restore is not fooled into taking it for a snapshot. */
	struct snapshot_chain *c = calloc(1, sizeof(*c));

	CHECK(snapshot_chain_open(c, ws_path, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "a working set (for --prefetch), not a snapshot");
	snapshot_chain_close(c);
	free(c);
	close(pagemap);
	unmap_memory(&m);
}

/* Regions that touch (the kernel's text slot between two pieces of RAM),
 * added out of address order: each run lies in one region, and the runs
 * are in address order, so the file loads. */
static void test_adjacent_regions(void)
{
	struct guest_memory mem = {0};
	struct working_set_stats st;
	struct working_set_run *runs;
	uint64_t n, boundary = ROM_GPA + ROM_PAGES * PAGE;
	char err[512];
	int fd = open(rom_path, O_RDONLY), pagemap = working_set_open_pagemap(err, sizeof(err));
	uint8_t *low = mmap(NULL, ROM_PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	uint8_t *high = mmap(NULL, ROM_PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);

	close(fd);
	CHECK(low != MAP_FAILED && high != MAP_FAILED);
	CHECK(guest_memory_add(&mem, boundary, ROM_PAGES * PAGE, high, false) == 0);
	CHECK(guest_memory_add(&mem, ROM_GPA, ROM_PAGES * PAGE, low, false) == 0);
	sink = low[(ROM_PAGES - 1) * PAGE];
	sink = high[0];
	CHECK(working_set_record(&mem, pagemap, &origin, ws_path, &st, err, sizeof(err)) == 0);
	CHECK(working_set_load(&mem, &origin, ws_path, &runs, &n, err, sizeof(err)) == 0);
	CHECK(n >= 2);
	for (uint64_t i = 0; i < n; i++)
		CHECK(runs[i].gpa >= boundary || runs[i].gpa + runs[i].pages * PAGE <= boundary);
	CHECK(run_at(runs, n, boundary - PAGE) != NULL && run_at(runs, n, boundary) != NULL);
	free(runs);
	close(pagemap);
	munmap(low, ROM_PAGES * PAGE);
	munmap(high, ROM_PAGES * PAGE);
}

/* A working-set file holding whatever runs it is given. */
static void write_runs(const struct working_set_run *runs, uint64_t n, bool flagged)
{
	struct snapshot_writer w;
	struct snapshot_base of = {.header_checksum = origin.snapshot_checksum};
	char err[512];

	unlink(ws_path);
	CHECK(snapshot_writer_open(&w, ws_path, 0x1234, RAM_PAGES * PAGE, err, sizeof(err)) == 0);
	if (flagged)
		w.header.flags |= SNAPSHOT_FLAG_WORKING_SET;
	CHECK(snapshot_writer_add(&w, SNAPSHOT_SECTION_WS_SNAPSHOT, &of, sizeof(of), err,
				  sizeof(err)) == 0);
	CHECK(snapshot_writer_add(&w, SNAPSHOT_SECTION_WS_RUNS, runs, n * sizeof(*runs), err,
				  sizeof(err)) == 0);
	CHECK(snapshot_writer_commit(&w, err, sizeof(err)) == 0);
}

static void expect_refused(const struct guest_memory *mem, const char *why)
{
	struct working_set_run *runs;
	uint64_t n;
	char err[512];

	CHECK(working_set_load(mem, &origin, ws_path, &runs, &n, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, why);
	CHECK(strchr(err, '\n') == NULL);
}

static void test_damaged_files(void)
{
	struct vm_memory m;
	const struct working_set_run outside[] = {{RAM_GPA + 15 * PAGE, 2, WORKING_SET_READ}};
	const struct working_set_run wraps[] = {
		{UINT64_MAX & ~(uint64_t)(PAGE - 1), 2, WORKING_SET_READ}};
	const struct working_set_run rom_written[] = {{ROM_GPA, 1, WORKING_SET_WRITTEN}};
	const struct working_set_run unordered[] = {{RAM_GPA + 4 * PAGE, 1, WORKING_SET_READ},
						    {RAM_GPA, 1, WORKING_SET_READ}};
	const struct working_set_run bad_kind[] = {{RAM_GPA, 1, 7}};
	const struct working_set_run unaligned[] = {{RAM_GPA + 1, 1, WORKING_SET_READ}};
	const struct working_set_run fine[] = {{RAM_GPA, 1, WORKING_SET_READ}};

	map_memory(&m);
	write_runs(outside, 1, true);
	expect_refused(&m.mem, "corrupt (a run of pages out of order, of no kind, or outside");
	write_runs(wraps, 1, true);
	expect_refused(&m.mem, "corrupt");
	write_runs(rom_written, 1, true);
	expect_refused(&m.mem, "corrupt");
	write_runs(unordered, 2, true);
	expect_refused(&m.mem, "corrupt");
	write_runs(bad_kind, 1, true);
	expect_refused(&m.mem, "corrupt");
	write_runs(unaligned, 1, true);
	expect_refused(&m.mem, "corrupt");
	write_runs(fine, 1, false);
	expect_refused(&m.mem, "a snapshot, not a working set");

	/* A flipped byte in the runs fails their checksum. */
	write_runs(fine, 1, true);
	{
		struct snapshot_file f;
		char err[512];
		uint64_t offset = 0;

		CHECK(snapshot_file_open(&f, ws_path, err, sizeof(err)) == 0);
		for (uint32_t i = 0; i < f.header.nr_sections; i++)
			if (f.header.sections[i].kind == SNAPSHOT_SECTION_WS_RUNS)
				offset = f.header.sections[i].offset;
		snapshot_file_close(&f);
		int fd = open(ws_path, O_RDWR);
		uint8_t byte = 0xff;

		CHECK(offset != 0 && pwrite(fd, &byte, 1, (off_t)offset + 3) == 1);
		close(fd);
	}
	expect_refused(&m.mem, "checksum");
	/* Not a file of ours at all. */
	{
		int fd = open(ws_path, O_WRONLY | O_TRUNC);

		CHECK(write(fd, "hello", 5) == 5);
		close(fd);
	}
	expect_refused(&m.mem, ws_path);
	unmap_memory(&m);
}

static uint64_t pagemap_entry(int pagemap, const void *addr)
{
	uint64_t e = 0;

	CHECK(pread(pagemap, &e, sizeof(e), (off_t)((uintptr_t)addr / PAGE * sizeof(e))) ==
	      (ssize_t)sizeof(e));
	return e;
}

static void test_populate(void)
{
	struct vm_memory m;
	struct working_set_stats st;
	const struct working_set_run runs[] = {{RAM_GPA + 2 * PAGE, 3, WORKING_SET_WRITTEN},
					       {RAM_GPA + 8 * PAGE, 1, WORKING_SET_READ},
					       {ROM_GPA + 4 * PAGE, 1, WORKING_SET_READ}};
	char err[512];
	int pagemap = working_set_open_pagemap(err, sizeof(err));
	const uint64_t present = 1ull << 63, exclusive = 1ull << 56;

	map_memory(&m);
	CHECK(working_set_populate(&m.mem, runs, 3, &st, err, sizeof(err)) == 0);
	CHECK(st.written_pages == 3 && st.read_pages == 2);
	for (unsigned int i = 2; i <= 4; i++)
		CHECK((pagemap_entry(pagemap, m.ram + i * PAGE) & (present | exclusive)) ==
		      (present | exclusive));
	CHECK(pagemap_entry(pagemap, m.ram + 8 * PAGE) & present);
	CHECK(!(pagemap_entry(pagemap, m.ram + 9 * PAGE) & present));
	CHECK(pagemap_entry(pagemap, m.rom + 4 * PAGE) & present);
	/* Populating changes no byte. */
	CHECK(m.ram[3 * PAGE] == 0 && m.rom[4 * PAGE] == 0x5a);
	close(pagemap);
	unmap_memory(&m);
}

int main(void)
{
	int fd = mkstemp(ws_path);

	CHECK(fd >= 0);
	close(fd);
	make_rom();
	test_record_and_load();
	test_adjacent_regions();
	test_damaged_files();
	test_populate();
	unlink(ws_path);
	unlink(rom_path);
	return check_result("working_set");
}
