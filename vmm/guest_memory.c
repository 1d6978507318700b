/* SPDX-License-Identifier: MIT */
#include "guest_memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <lispvm/abi.h>

#include "page_bitmap.h"

static bool range_end(uint64_t start, uint64_t len, uint64_t *end)
{
	return !__builtin_add_overflow(start, len, end);
}

static bool regions_overlap(const struct guest_region *r, uint64_t gpa, uint64_t end)
{
	return gpa < r->gpa + r->size && r->gpa < end;
}

int guest_memory_add(struct guest_memory *mem, uint64_t gpa, uint64_t size, void *host,
		     bool writable)
{
	uint64_t end;

	if (size == 0 || !range_end(gpa, size, &end) || host == NULL)
		return -1;
	if (mem->nr_regions == GUEST_MEMORY_MAX_REGIONS)
		return -1;
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		if (regions_overlap(&mem->regions[i], gpa, end))
			return -1;
	mem->regions[mem->nr_regions++] = (struct guest_region){
		.gpa = gpa,
		.size = size,
		.host = host,
		.writable = writable,
	};
	return 0;
}

int guest_memory_track_writes(struct guest_memory *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];
		uint64_t pages = (r->size + LISPVM_PAGE_SIZE - 1) / LISPVM_PAGE_SIZE;

		if (!r->writable || r->written != NULL)
			continue;
		r->written = calloc(page_bitmap_words(pages), sizeof(uint64_t));
		if (r->written == NULL)
			return -1;
	}
	return 0;
}

void guest_memory_forget_writes(struct guest_memory *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t pages = (r->size + LISPVM_PAGE_SIZE - 1) / LISPVM_PAGE_SIZE;

		if (r->written != NULL)
			memset(r->written, 0, page_bitmap_words(pages) * sizeof(uint64_t));
	}
}

void guest_memory_free_tracking(struct guest_memory *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		free(mem->regions[i].written);
		mem->regions[i].written = NULL;
	}
}

/* Device threads write guest memory too: the bits are set atomically. */
static void mark_written(const struct guest_region *r, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - r->gpa) / LISPVM_PAGE_SIZE;
	uint64_t last = (gpa - r->gpa + len - 1) / LISPVM_PAGE_SIZE;

	for (uint64_t p = first; p <= last; p++)
		page_bitmap_set_atomic(r->written, p);
}

/* The region holding gpa, or NULL. */
static const struct guest_region *region_of(const struct guest_memory *mem, uint64_t gpa)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* Compare offsets, not end addresses: the check then needs no
		 * addition at all (guest_memory_add already refuses regions
		 * whose end would wrap). */
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_memory_access(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			  enum guest_access access)
{
	const struct guest_region *r;
	uint64_t end;

	if (len == 0 || !range_end(gpa, len, &end) || (r = region_of(mem, gpa)) == NULL)
		return NULL;
	if (len > r->size - (gpa - r->gpa))
		return NULL;
	if (access == GUEST_WRITE && !r->writable)
		return NULL;
	if (access == GUEST_WRITE && r->written != NULL)
		mark_written(r, gpa, len);
	return r->host + (gpa - r->gpa);
}

bool guest_memory_writable(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	return guest_memory_access(mem, gpa, len, GUEST_READ) != NULL &&
	       region_of(mem, gpa)->writable;
}

int guest_memory_read(const struct guest_memory *mem, void *dst, uint64_t gpa, uint64_t len)
{
	const void *src = guest_memory_access(mem, gpa, len, GUEST_READ);

	if (src == NULL)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = guest_memory_access(mem, gpa, len, GUEST_WRITE);

	if (dst == NULL)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

void guest_memory_mark_file_backed(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0 || !range_end(gpa, len, &end))
		return;
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		if (regions_overlap(&mem->regions[i], gpa, end))
			mem->regions[i].file_backed = true;
}

int guest_memory_discard(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	void *host;

	if (gpa % LISPVM_PAGE_SIZE || len % LISPVM_PAGE_SIZE) {
		errno = EINVAL;
		return -1;
	}
	host = guest_memory_access(mem, gpa, len, GUEST_WRITE);
	if (host == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (!region_of(mem, gpa)->file_backed)
		return madvise(host, len, MADV_DONTNEED);
	/* MADV_DONTNEED on a private file mapping brings the file's page
	 * back, not a zero page: new anonymous memory replaces the range
	 * (KVM's MMU notifier drops the old pages from the guest). */
	if (mmap(host, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
		return -1;
	return 0;
}
