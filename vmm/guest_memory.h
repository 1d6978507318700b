/* SPDX-License-Identifier: MIT */
/* Guest-physical memory regions and the one checked accessor through which
 * the VMM touches guest memory. */
#ifndef LISPVM_VMM_GUEST_MEMORY_H
#define LISPVM_VMM_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEMORY_MAX_REGIONS 16

enum guest_access {
	GUEST_READ,
	GUEST_WRITE,
};

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	bool writable;
	bool file_backed;  /* some pages are a private file mapping (a snapshot) */
	uint64_t *written; /* with write tracking: a bit per page the VMM wrote */
};

struct guest_memory {
	struct guest_region regions[GUEST_MEMORY_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Adds a region; returns 0, or -1 if it is empty, wraps, overlaps another
 * region or the table is full. */
int guest_memory_add(struct guest_memory *mem, uint64_t gpa, uint64_t size, void *host,
		     bool writable);

/* The host address of [gpa, gpa + len) if that whole range lies inside one
 * region that allows `access`; NULL otherwise (len == 0, wraparound, out of
 * every region, straddling two regions, writing a read-only region). */
void *guest_memory_access(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			  enum guest_access access);

/* Whether [gpa, gpa + len) lies inside one writable region, without
 * marking it written. */
bool guest_memory_writable(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* From now on, every page of writable regions that the VMM hands out for
 * writing (or discards) is marked in the region's `written` bitmap: with
 * KVM's dirty log, which sees only the guest's writes, that is every page
 * that changed.  0, or -1 (out of memory). */
int guest_memory_track_writes(struct guest_memory *mem);
void guest_memory_free_tracking(struct guest_memory *mem);

/* Clears the marks: the next diff counts the VMM's writes from now.  Only
 * while nothing writes (the vCPU out of KVM_RUN, the devices held); a
 * device that writes through a pointer it took earlier accesses the range
 * again when it writes (virtq_device_complete), so nothing is lost. */
void guest_memory_forget_writes(struct guest_memory *mem);

/* Notes that [gpa, gpa + len) holds private file pages (a restored
 * snapshot's), so that a discard there cannot rely on MADV_DONTNEED. */
void guest_memory_mark_file_backed(struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Drops the host pages behind [gpa, gpa + len) of writable guest RAM: they
 * cost the host nothing until touched again and read back as zero.  gpa and
 * len must be page-aligned.  0, or -1 (bad range, or errno from the kernel). */
int guest_memory_discard(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Copies through guest_memory_access; return 0 or -1. */
int guest_memory_read(const struct guest_memory *mem, void *dst, uint64_t gpa, uint64_t len);
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len);

#endif
