/* SPDX-License-Identifier: MIT */
/* The snapshot file: what is written reads back; only non-zero pages are
 * stored, in the extent list; a damaged header, section, extent list or
 * stored page, a truncated file and a foreign one are each refused.  A
 * diff stores only the changed pages and lists those that read zero; a
 * chain opens to its base, which must be the file the diff was taken
 * over. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "snapshot_chain.h"
#include "snapshot_file.h"

#define PAGE	 4096u
#define RAM_SIZE (64u * PAGE)

static char path[] = "/tmp/lispvm-test-snapshot-XXXXXX";

struct section_data {
	uint64_t a, b;
};

static uint8_t *make_ram(void)
{
	uint8_t *ram =
		mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* Pages 1, 2 and 40 hold data; page 5 is touched but zero. */
	memset(ram + 1 * PAGE, 0xaa, 2 * PAGE);
	ram[40 * PAGE + 7] = 0x42;
	ram[5 * PAGE] = 1;
	ram[5 * PAGE] = 0;
	return ram;
}

/* The bytes of RAM stored. */
static uint64_t write_snapshot(const uint8_t *ram)
{
	struct snapshot_writer w;
	struct snapshot_ram_piece pieces[2] = {{ram, 32 * PAGE}, {ram + 32 * PAGE, 32 * PAGE}};
	struct section_data data = {1, 2};
	uint64_t stored;
	char err[512];

	unlink(path);
	CHECK(snapshot_writer_open(&w, path, 0x1234, RAM_SIZE, err, sizeof(err)) == 0);
	CHECK(snapshot_writer_add(&w, SNAPSHOT_SECTION_MACHINE, &data, sizeof(data), err,
				  sizeof(err)) == 0);
	CHECK(snapshot_writer_add_memory(&w, pieces, 2, NULL, &stored, err, sizeof(err)) == 0);
	CHECK(snapshot_writer_commit(&w, err, sizeof(err)) == 0);
	return stored;
}

static void read_back(void)
{
	struct snapshot_file f;
	struct snapshot_extent *e = NULL;
	struct section_data data;
	uint64_t n = 0;
	char err[512];

	CHECK(snapshot_file_open(&f, path, err, sizeof(err)) == 0);
	CHECK(f.header.runtime_hash == 0x1234 && f.header.memory_size == RAM_SIZE);
	CHECK(snapshot_file_read(&f, SNAPSHOT_SECTION_MACHINE, &data, sizeof(data), err,
				 sizeof(err)) == 0);
	CHECK(data.a == 1 && data.b == 2);
	CHECK(snapshot_file_read(&f, SNAPSHOT_SECTION_VCPU, &data, sizeof(data), err, sizeof(err)) <
	      0);
	CHECK(snapshot_file_memory_offset(&f) % SNAPSHOT_MEMORY_ALIGN == 0);
	CHECK(snapshot_file_read_extents(&f, SNAPSHOT_SECTION_EXTENTS, &e, &n, err, sizeof(err)) ==
	      0);
	CHECK(n == 2 && e[0].offset == PAGE && e[0].length == 2 * PAGE &&
	      e[1].offset == 40 * PAGE && e[1].length == PAGE);
	CHECK(snapshot_file_verify_memory(&f, e, n, err, sizeof(err)) == 0);
	free(e);
	snapshot_file_close(&f);
}

static void flip_byte(uint64_t offset)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	CHECK(pread(fd, &b, 1, (off_t)offset) == 1);
	b ^= 0x10;
	CHECK(pwrite(fd, &b, 1, (off_t)offset) == 1);
	close(fd);
}

static const char *open_error(void)
{
	static char err[512];
	struct snapshot_file f;
	struct snapshot_extent *e = NULL;
	uint64_t n;

	err[0] = '\0';
	if (snapshot_file_open(&f, path, err, sizeof(err)) < 0)
		return err;
	if (snapshot_file_read_extents(&f, SNAPSHOT_SECTION_EXTENTS, &e, &n, err, sizeof(err)) ==
		    0 &&
	    snapshot_file_verify_memory(&f, e, n, err, sizeof(err)) == 0)
		err[0] = '\0';
	free(e);
	snapshot_file_close(&f);
	return err;
}

static uint64_t memory_offset(void)
{
	struct snapshot_file f;
	char err[512];
	uint64_t off;

	CHECK(snapshot_file_open(&f, path, err, sizeof(err)) == 0);
	off = snapshot_file_memory_offset(&f);
	snapshot_file_close(&f);
	return off;
}

/* A diff over `base` in diff_path: pages 1 and 40 changed and hold data,
 * page 5 changed back to zero and page 50 was discarded; page 2 holds data
 * but did not change. */
static void write_diff(const char *diff_path, const uint8_t *ram, uint64_t base_checksum,
		       uint64_t changed_pages)
{
	struct snapshot_writer w;
	struct snapshot_ram_piece pieces[1] = {{ram, RAM_SIZE}};
	static struct snapshot_base base;
	uint64_t changed[1] = {changed_pages};
	uint64_t stored;
	char err[512];

	base.header_checksum = base_checksum;
	strcpy(base.path, path);
	unlink(diff_path);
	CHECK(snapshot_writer_open(&w, diff_path, 0x1234, RAM_SIZE, err, sizeof(err)) == 0);
	CHECK(snapshot_writer_add(&w, SNAPSHOT_SECTION_BASE, &base, sizeof(base), err,
				  sizeof(err)) == 0);
	CHECK(snapshot_writer_add_memory(&w, pieces, 1, changed, &stored, err, sizeof(err)) == 0);
	CHECK(stored == 2 * PAGE);
	CHECK(snapshot_writer_commit(&w, err, sizeof(err)) == 0);
}

static uint64_t header_checksum_of(const char *file)
{
	struct snapshot_file f;
	char err[512];
	uint64_t sum;

	CHECK(snapshot_file_open(&f, file, err, sizeof(err)) == 0);
	sum = f.header.header_checksum;
	snapshot_file_close(&f);
	return sum;
}

static void test_diff_chain(const uint8_t *ram)
{
	static struct snapshot_chain chain;
	char diff_path[sizeof(path) + 8];
	char err[512];

	snprintf(diff_path, sizeof(diff_path), "%s.diff", path);
	write_snapshot(ram);
	/* Without a page that reads zero, the ZEROED section is empty, and
	 * last in the file. */
	write_diff(diff_path, ram, header_checksum_of(path), 1ull << 1 | 1ull << 40);
	CHECK(snapshot_chain_open(&chain, diff_path, err, sizeof(err)) == 0);
	CHECK(chain.level[0].nr_extents == 2 && chain.level[0].nr_zeroed == 0);
	snapshot_chain_close(&chain);

	write_diff(diff_path, ram, header_checksum_of(path),
		   1ull << 1 | 1ull << 5 | 1ull << 40 | 1ull << 50);
	CHECK(snapshot_chain_open(&chain, diff_path, err, sizeof(err)) == 0);
	CHECK(chain.n == 2 && strcmp(chain.level[1].f.path, path) == 0);
	CHECK(chain.level[0].f.header.flags & SNAPSHOT_FLAG_DIFF);
	CHECK(chain.level[0].nr_extents == 2 && chain.level[0].extents[0].offset == PAGE &&
	      chain.level[0].extents[0].length == PAGE &&
	      chain.level[0].extents[1].offset == 40 * PAGE);
	CHECK(chain.level[0].nr_zeroed == 2 && chain.level[0].zeroed[0].offset == 5 * PAGE &&
	      chain.level[0].zeroed[1].offset == 50 * PAGE);
	CHECK(chain.level[1].nr_extents == 2 && chain.level[1].nr_zeroed == 0);
	snapshot_chain_close(&chain);

	/* The base rewritten with other contents is not the diff's base. */
	{
		uint8_t *other = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		other[3 * PAGE] = 9;
		write_snapshot(other);
		munmap(other, RAM_SIZE);
	}
	CHECK(snapshot_chain_open(&chain, diff_path, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "has changed since the diff was taken");
	snapshot_chain_close(&chain);
	unlink(path);
	CHECK(snapshot_chain_open(&chain, diff_path, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "its base");
	snapshot_chain_close(&chain);
	unlink(diff_path);
}

int main(void)
{
	uint8_t *ram = make_ram();
	int fd = mkstemp(path);

	close(fd);
	CHECK(write_snapshot(ram) == 3 * PAGE);
	read_back();

	flip_byte(memory_offset() + 40 * PAGE + 7); /* a stored page */
	CHECK_CONTAINS(open_error(), "memory is corrupt");

	write_snapshot(ram);
	flip_byte(memory_offset() + 10 * PAGE); /* a hole: never read, never mapped */
	CHECK(open_error()[0] == '\0');

	write_snapshot(ram);
	flip_byte(12); /* the header */
	CHECK_CONTAINS(open_error(), "corrupt header");

	write_snapshot(ram);
	flip_byte(SNAPSHOT_HEADER_SIZE); /* the first section */
	{
		struct snapshot_file f;
		struct section_data data;
		char err[512];

		CHECK(snapshot_file_open(&f, path, err, sizeof(err)) == 0);
		CHECK(snapshot_file_read(&f, SNAPSHOT_SECTION_MACHINE, &data, sizeof(data), err,
					 sizeof(err)) < 0);
		CHECK_CONTAINS(err, "corrupt");
		snapshot_file_close(&f);
	}

	write_snapshot(ram);
	CHECK(truncate(path, memory_offset() + PAGE) == 0);
	CHECK_CONTAINS(open_error(), "truncated");

	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	CHECK_CONTAINS(open_error(), "truncated (no header)");
	CHECK(truncate(path, 8192) == 0);
	CHECK_CONTAINS(open_error(), "not a lispvm snapshot");

	test_diff_chain(ram);
	unlink(path);
	munmap(ram, RAM_SIZE);
	return check_result("snapshot_file");
}
