/* SPDX-License-Identifier: MIT */
/* The snapshot file: what is written reads back; only non-zero pages are
 * stored, in the extent list; a damaged header, section, extent list or
 * stored page, a truncated file and a foreign one are each refused. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
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

static void write_snapshot(const uint8_t *ram)
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
	CHECK(snapshot_writer_add_memory(&w, pieces, 2, &stored, err, sizeof(err)) == 0);
	CHECK(stored == 3 * PAGE);
	CHECK(snapshot_writer_commit(&w, err, sizeof(err)) == 0);
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
	CHECK(snapshot_file_read_extents(&f, &e, &n, err, sizeof(err)) == 0);
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
	if (snapshot_file_read_extents(&f, &e, &n, err, sizeof(err)) == 0 &&
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

int main(void)
{
	uint8_t *ram = make_ram();
	int fd = mkstemp(path);

	close(fd);
	write_snapshot(ram);
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

	unlink(path);
	munmap(ram, RAM_SIZE);
	return check_result("snapshot_file");
}
