/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "snapshot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <lispvm/abi.h>

#include "file_io.h"
#include "page_bitmap.h"

#define PAGE_SIZE     4096ull
#define SECTION_ALIGN PAGE_SIZE
/* mincore's residency vector and the verify buffer work in chunks. */
#define CHUNK_BYTES (64ull << 20)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static bool page_is_zero(const uint8_t *page)
{
	const uint64_t *w = (const uint64_t *)page;

	for (size_t i = 0; i < PAGE_SIZE / sizeof(*w); i++)
		if (w[i] != 0)
			return false;
	return true;
}

static void hash_page(XXH3_state_t *st, uint64_t rel_offset, const uint8_t *page)
{
	XXH3_64bits_update(st, &rel_offset, sizeof(rel_offset));
	XXH3_64bits_update(st, page, PAGE_SIZE);
}

static uint64_t header_checksum(const struct snapshot_header *h)
{
	return XXH3_64bits(h, offsetof(struct snapshot_header, header_checksum));
}

/* ---- writing ---- */

static int writer_start(struct snapshot_writer *w, const char *path, char *err, size_t err_size)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (strlen(path) >= sizeof(w->path)) {
		snprintf(err, err_size, "snapshot path too long");
		return -1;
	}
	strcpy(w->path, path);
	return 0;
}

static void writer_header(struct snapshot_writer *w, uint64_t runtime_hash, uint64_t memory_size)
{
	memcpy(w->header.magic, SNAPSHOT_MAGIC, sizeof(w->header.magic));
	w->header.format_version = SNAPSHOT_FORMAT_VERSION;
	w->header.abi_version = LISPVM_ABI_VERSION;
	w->header.runtime_hash = runtime_hash;
	w->header.memory_size = memory_size;
	w->end = SNAPSHOT_HEADER_SIZE;
}

int snapshot_writer_open(struct snapshot_writer *w, const char *path, uint64_t runtime_hash,
			 uint64_t memory_size, char *err, size_t err_size)
{
	if (writer_start(w, path, err, err_size) < 0)
		return -1;
	snprintf(w->tmp_path, sizeof(w->tmp_path), "%s.tmp-%d", path, (int)getpid());
	w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		snprintf(err, err_size, "cannot write snapshot %s: %s", path, strerror(errno));
		w->tmp_path[0] = '\0';
		return -1;
	}
	writer_header(w, runtime_hash, memory_size);
	return 0;
}

int snapshot_writer_open_fd(struct snapshot_writer *w, int fd, const char *name,
			    uint64_t runtime_hash, uint64_t memory_size, char *err, size_t err_size)
{
	if (writer_start(w, name, err, err_size) < 0)
		return -1;
	w->fd = fd;
	w->borrowed_fd = true;
	writer_header(w, runtime_hash, memory_size);
	return 0;
}

static struct snapshot_section *new_section(struct snapshot_writer *w, uint32_t kind, char *err,
					    size_t err_size)
{
	struct snapshot_section *s;

	if (w->header.nr_sections == SNAPSHOT_MAX_SECTIONS) {
		snprintf(err, err_size, "too many snapshot sections");
		return NULL;
	}
	s = &w->header.sections[w->header.nr_sections++];
	s->kind = kind;
	return s;
}

static int write_failed(struct snapshot_writer *w, char *err, size_t err_size)
{
	snprintf(err, err_size, "cannot write snapshot %s: %s", w->path, strerror(errno));
	return -1;
}

int snapshot_writer_add(struct snapshot_writer *w, uint32_t kind, const void *data, size_t size,
			char *err, size_t err_size)
{
	struct snapshot_section *s = new_section(w, kind, err, err_size);

	if (s == NULL)
		return -1;
	s->offset = align_up(w->end, SECTION_ALIGN);
	s->size = size;
	s->checksum = XXH3_64bits(data, size);
	/* An empty section last must still lie inside the file. */
	if (file_pwrite_all(w->fd, data, size, s->offset) < 0 ||
	    (size == 0 && ftruncate(w->fd, (off_t)s->offset) < 0))
		return write_failed(w, err, err_size);
	w->end = s->offset + size;
	return 0;
}

/* Appends [offset, offset + length) to a list in address order, merged
 * with the last range where they touch. */
static int add_range(struct snapshot_extent **list, uint64_t *nr, uint64_t *max, uint64_t offset,
		     uint64_t length)
{
	if (*nr > 0 && (*list)[*nr - 1].offset + (*list)[*nr - 1].length == offset) {
		(*list)[*nr - 1].length += length;
		return 0;
	}
	if (*nr == *max) {
		uint64_t grown_max = *max ? 2 * *max : 1024;
		struct snapshot_extent *grown = realloc(*list, grown_max * sizeof(*grown));

		if (grown == NULL)
			return -1;
		*list = grown;
		*max = grown_max;
	}
	(*list)[(*nr)++] = (struct snapshot_extent){offset, length};
	return 0;
}

static int add_extent(struct snapshot_writer *w, uint64_t offset, uint64_t length)
{
	return add_range(&w->extents, &w->nr_extents, &w->max_extents, offset, length);
}

/* Writes the non-zero resident pages of host[0..size) (of a diff: the
 * changed ones, noting those that read zero), which land at file offset
 * base + rel (rel counted from the memory section). */
static int write_piece(struct snapshot_writer *w, const struct snapshot_ram_piece *p, uint64_t base,
		       uint64_t rel, const uint64_t *changed, XXH3_state_t *st, uint64_t *stored)
{
	unsigned char *resident = malloc(CHUNK_BYTES / PAGE_SIZE);

	if (resident == NULL)
		return -1;
	for (uint64_t chunk = 0; chunk < p->size; chunk += CHUNK_BYTES) {
		uint64_t len = p->size - chunk < CHUNK_BYTES ? p->size - chunk : CHUNK_BYTES;
		uint64_t run_start = 0, run_len = 0;

		if (changed == NULL && mincore((void *)(p->host + chunk), len, resident) < 0) {
			free(resident);
			return -1;
		}
		for (uint64_t off = 0; off <= len; off += PAGE_SIZE) {
			const uint8_t *page = p->host + chunk + off;
			uint64_t at = rel + chunk + off;
			bool wanted = off < len &&
				      (changed != NULL ? page_bitmap_test(changed, at / PAGE_SIZE)
						       : resident[off / PAGE_SIZE] & 1);
			bool keep = wanted && !page_is_zero(page);

			if (wanted && !keep && changed != NULL &&
			    add_range(&w->zeroed, &w->nr_zeroed, &w->max_zeroed, at, PAGE_SIZE) <
				    0) {
				free(resident);
				return -1;
			}

			if (keep) {
				if (run_len == 0)
					run_start = off;
				run_len += PAGE_SIZE;
				hash_page(st, rel + chunk + off, page);
				continue;
			}
			if (run_len != 0 &&
			    (file_pwrite_all(w->fd, p->host + chunk + run_start, run_len,
					     base + rel + chunk + run_start) < 0 ||
			     add_extent(w, rel + chunk + run_start, run_len) < 0)) {
				free(resident);
				return -1;
			}
			*stored += run_len;
			run_len = 0;
		}
	}
	free(resident);
	return 0;
}

int snapshot_writer_add_memory(struct snapshot_writer *w, const struct snapshot_ram_piece *pieces,
			       unsigned int nr, const uint64_t *changed, uint64_t *stored,
			       char *err, size_t err_size)
{
	struct snapshot_section *s = new_section(w, SNAPSHOT_SECTION_MEMORY, err, err_size);
	XXH3_state_t *st = XXH3_createState();
	uint64_t rel = 0;

	*stored = 0;
	if (s == NULL || st == NULL) {
		XXH3_freeState(st);
		return s == NULL ? -1 : write_failed(w, err, err_size);
	}
	XXH3_64bits_reset(st);
	s->offset = align_up(w->end, SNAPSHOT_MEMORY_ALIGN);
	for (unsigned int i = 0; i < nr; i++) {
		if (write_piece(w, &pieces[i], s->offset, rel, changed, st, stored) < 0) {
			XXH3_freeState(st);
			return write_failed(w, err, err_size);
		}
		rel += pieces[i].size;
	}
	s->size = rel;
	s->checksum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	w->end = s->offset + s->size;
	/* The tail of RAM is a hole too, but the file must reach it. */
	if (ftruncate(w->fd, (off_t)w->end) < 0)
		return write_failed(w, err, err_size);
	if (snapshot_writer_add(w, SNAPSHOT_SECTION_EXTENTS, w->extents,
				w->nr_extents * sizeof(*w->extents), err, err_size) < 0)
		return -1;
	if (changed == NULL)
		return 0;
	w->header.flags |= SNAPSHOT_FLAG_DIFF;
	return snapshot_writer_add(w, SNAPSHOT_SECTION_ZEROED, w->zeroed,
				   w->nr_zeroed * sizeof(*w->zeroed), err, err_size);
}

int snapshot_writer_commit(struct snapshot_writer *w, char *err, size_t err_size)
{
	uint8_t page[SNAPSHOT_HEADER_SIZE] = {0};

	w->header.header_checksum = header_checksum(&w->header);
	memcpy(page, &w->header, sizeof(w->header));
	if (file_pwrite_all(w->fd, page, sizeof(page), 0) < 0 || fsync(w->fd) < 0)
		return write_failed(w, err, err_size);
	if (w->tmp_path[0] != '\0' && renameat(AT_FDCWD, w->tmp_path, AT_FDCWD, w->path) < 0)
		return write_failed(w, err, err_size);
	if (!w->borrowed_fd)
		close(w->fd);
	w->fd = -1;
	w->tmp_path[0] = '\0';
	free(w->extents);
	w->extents = NULL;
	free(w->zeroed);
	w->zeroed = NULL;
	return 0;
}

void snapshot_writer_abort(struct snapshot_writer *w)
{
	free(w->extents);
	w->extents = NULL;
	free(w->zeroed);
	w->zeroed = NULL;
	if (w->fd >= 0 && !w->borrowed_fd)
		close(w->fd);
	w->fd = -1;
	if (w->tmp_path[0] != '\0')
		unlinkat(AT_FDCWD, w->tmp_path, 0);
	w->tmp_path[0] = '\0';
}

/* ---- reading ---- */

static int bad(char *err, size_t err_size, const struct snapshot_file *f, const char *why)
{
	snprintf(err, err_size, "snapshot %s: %s", f->path, why);
	return -1;
}

static int check_header(const struct snapshot_file *f, char *err, size_t err_size)
{
	const struct snapshot_header *h = &f->header;
	char why[160];

	if (memcmp(h->magic, SNAPSHOT_MAGIC, sizeof(h->magic)) != 0)
		return bad(err, err_size, f, "not a lispvm snapshot");
	if (h->format_version != SNAPSHOT_FORMAT_VERSION) {
		snprintf(why, sizeof(why), "format version %" PRIu32 ", this lispvm reads %d",
			 h->format_version, SNAPSHOT_FORMAT_VERSION);
		return bad(err, err_size, f, why);
	}
	if (h->header_checksum != header_checksum(h))
		return bad(err, err_size, f, "corrupt header (checksum mismatch)");
	if (h->abi_version != LISPVM_ABI_VERSION) {
		snprintf(why, sizeof(why),
			 "taken by a lispvm speaking ABI %" PRIu32 ", this one speaks %d",
			 h->abi_version, LISPVM_ABI_VERSION);
		return bad(err, err_size, f, why);
	}
	if (h->nr_sections > SNAPSHOT_MAX_SECTIONS)
		return bad(err, err_size, f, "corrupt header (section count)");
	if (h->flags & ~SNAPSHOT_KNOWN_FLAGS)
		return bad(err, err_size, f, "corrupt header (unknown flags)");
	for (uint32_t i = 0; i < h->nr_sections; i++) {
		const struct snapshot_section *s = &h->sections[i];

		if (s->offset < SNAPSHOT_HEADER_SIZE || s->offset > f->file_size ||
		    s->size > f->file_size - s->offset) {
			snprintf(why, sizeof(why),
				 "truncated or corrupt (section %" PRIu32
				 " ends past the file's %" PRIu64 " bytes)",
				 s->kind, f->file_size);
			return bad(err, err_size, f, why);
		}
	}
	return 0;
}

int snapshot_file_open(struct snapshot_file *f, const char *path, char *err, size_t err_size)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (strlen(path) >= sizeof(f->path)) {
		snprintf(err, err_size, "snapshot path too long: %.120s...", path);
		return -1;
	}
	strcpy(f->path, path);
	/* A diff names its base: a FIFO or a device there must not block or
	 * become our terminal. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		snprintf(err, err_size, "snapshot %s: %s", path, strerror(errno));
		snapshot_file_close(f);
		return -1;
	}
	f->file_size = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode) || f->file_size < SNAPSHOT_HEADER_SIZE) {
		snapshot_file_close(f);
		return bad(err, err_size, f,
			   S_ISREG(st.st_mode) ? "truncated (no header)" : "not a regular file");
	}
	if (file_pread_all(f->fd, &f->header, sizeof(f->header), 0) < 0) {
		snprintf(err, err_size, "snapshot %s: %s", path, strerror(errno));
		snapshot_file_close(f);
		return -1;
	}
	if (check_header(f, err, err_size) < 0) {
		snapshot_file_close(f);
		return -1;
	}
	return 0;
}

static const struct snapshot_section *find_section(const struct snapshot_file *f, uint32_t kind)
{
	for (uint32_t i = 0; i < f->header.nr_sections; i++)
		if (f->header.sections[i].kind == kind)
			return &f->header.sections[i];
	return NULL;
}

int snapshot_file_read(const struct snapshot_file *f, uint32_t kind, void *out, size_t size,
		       char *err, size_t err_size)
{
	const struct snapshot_section *s = find_section(f, kind);

	if (s == NULL || s->size != size) {
		snprintf(err, err_size, "snapshot %s: section %" PRIu32 " is %s", f->path, kind,
			 s == NULL ? "missing" : "of the wrong size");
		return -1;
	}
	if (file_pread_all(f->fd, out, size, s->offset) < 0) {
		snprintf(err, err_size, "snapshot %s: reading section %" PRIu32 ": %s", f->path,
			 kind, strerror(errno));
		return -1;
	}
	if (XXH3_64bits(out, size) != s->checksum) {
		snprintf(err, err_size,
			 "snapshot %s: section %" PRIu32 " is corrupt (checksum mismatch)", f->path,
			 kind);
		return -1;
	}
	return 0;
}

uint64_t snapshot_file_memory_offset(const struct snapshot_file *f)
{
	const struct snapshot_section *s = find_section(f, SNAPSHOT_SECTION_MEMORY);

	return s ? s->offset : 0;
}

/* Hashes the non-zero pages of [from, to) (relative to the memory
 * section, page-aligned) as the writer did. */
static int hash_extent(const struct snapshot_file *f, uint64_t base, uint64_t from, uint64_t to,
		       uint8_t *buf, XXH3_state_t *st)
{
	for (uint64_t off = from; off < to; off += CHUNK_BYTES) {
		uint64_t len = to - off < CHUNK_BYTES ? to - off : CHUNK_BYTES;

		if (file_pread_all(f->fd, buf, len, base + off) < 0)
			return -1;
		for (uint64_t p = 0; p < len; p += PAGE_SIZE)
			if (!page_is_zero(buf + p))
				hash_page(st, off + p, buf + p);
	}
	return 0;
}

int snapshot_file_read_array(const struct snapshot_file *f, uint32_t kind, size_t elem_size,
			     uint64_t max, void **out, uint64_t *count, char *err, size_t err_size)
{
	const struct snapshot_section *s = find_section(f, kind);
	void *data;

	*out = NULL;
	*count = 0;
	if (s == NULL)
		return 0;
	if (s->size % elem_size != 0 || s->size / elem_size > max) {
		snprintf(err, err_size, "snapshot %s: section %" PRIu32 " is corrupt", f->path,
			 kind);
		return -1;
	}
	data = malloc(s->size ? s->size : 1);
	if (data == NULL) {
		snprintf(err, err_size, "snapshot %s: %s", f->path, strerror(ENOMEM));
		return -1;
	}
	if (snapshot_file_read(f, kind, data, s->size, err, err_size) < 0) {
		free(data);
		return -1;
	}
	*out = data;
	*count = s->size / elem_size;
	return 0;
}

int snapshot_file_read_extents(const struct snapshot_file *f, uint32_t kind,
			       struct snapshot_extent **out, uint64_t *count, char *err,
			       size_t err_size)
{
	const struct snapshot_section *mem = find_section(f, SNAPSHOT_SECTION_MEMORY);
	struct snapshot_extent *e;
	void *data;

	if (mem == NULL || (kind != SNAPSHOT_SECTION_ZEROED && find_section(f, kind) == NULL)) {
		snprintf(err, err_size, "snapshot %s: the extent list is missing", f->path);
		return -1;
	}
	if (snapshot_file_read_array(f, kind, sizeof(*e), UINT64_MAX, &data, count, err, err_size) <
	    0)
		return -1;
	e = data;
	for (uint64_t i = 0; i < *count; i++)
		if (e[i].offset % PAGE_SIZE || e[i].length % PAGE_SIZE || e[i].offset > mem->size ||
		    e[i].length > mem->size - e[i].offset ||
		    (i > 0 && e[i].offset < e[i - 1].offset + e[i - 1].length)) {
			snprintf(err, err_size, "snapshot %s: the extent list is corrupt", f->path);
			free(e);
			return -1;
		}
	*out = e;
	return 0;
}

int snapshot_file_verify_memory(const struct snapshot_file *f,
				const struct snapshot_extent *extents, uint64_t count, char *err,
				size_t err_size)
{
	const struct snapshot_section *s = find_section(f, SNAPSHOT_SECTION_MEMORY);
	uint8_t *buf;
	XXH3_state_t *st;
	int rc = 0;

	if (s == NULL) {
		snprintf(err, err_size, "snapshot %s: no memory section", f->path);
		return -1;
	}
	buf = malloc(CHUNK_BYTES);
	st = XXH3_createState();
	if (buf == NULL || st == NULL) {
		snprintf(err, err_size, "snapshot %s: %s", f->path, strerror(ENOMEM));
		rc = -1;
	} else {
		XXH3_64bits_reset(st);
	}
	for (uint64_t i = 0; rc == 0 && i < count; i++)
		if (hash_extent(f, s->offset, extents[i].offset,
				extents[i].offset + extents[i].length, buf, st) < 0) {
			snprintf(err, err_size, "snapshot %s: reading memory: %s", f->path,
				 strerror(errno));
			rc = -1;
		}
	if (rc == 0 && XXH3_64bits_digest(st) != s->checksum) {
		snprintf(err, err_size, "snapshot %s: guest memory is corrupt (checksum mismatch)",
			 f->path);
		rc = -1;
	}
	free(buf);
	XXH3_freeState(st);
	return rc;
}

void snapshot_file_close(struct snapshot_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

uint64_t snapshot_hash(const void *data, size_t size)
{
	return XXH3_64bits(data, size);
}

int snapshot_hash_file(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		*out = XXH3_64bits(NULL, 0);
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	*out = XXH3_64bits(map, (size_t)st.st_size);
	munmap(map, (size_t)st.st_size);
	return 0;
}
