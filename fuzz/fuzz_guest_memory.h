/* SPDX-License-Identifier: MIT */
/*
 * The simulated guest-physical memory the VMM-side harnesses share: a few
 * regions of a struct guest_memory, laid out so that every kind of edge
 * is within a fuzzer's reach (two adjacent regions, a read-only one, the
 * last page below 4 GiB, a page just short of the top of the 64-bit
 * space), each mapped between two inaccessible guard pages, so that an
 * access past a region's end faults at once (ASan does not watch mmap'd
 * memory).
 */
#ifndef LISPVM_FUZZ_GUEST_MEMORY_H
#define LISPVM_FUZZ_GUEST_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "guest_memory.h"

#define FUZZ_RAM_GPA	   0x0ull
#define FUZZ_RAM_SIZE	   0x10000ull			  /* 64 KiB */
#define FUZZ_RAM_NEXT_GPA  (FUZZ_RAM_GPA + FUZZ_RAM_SIZE) /* a second region right after */
#define FUZZ_RAM_NEXT_SIZE 0x1000ull
#define FUZZ_ROM_GPA	   0x100000ull /* read-only, as an image is */
#define FUZZ_ROM_SIZE	   0x1000ull
#define FUZZ_HIGH_GPA	   0xfffff000ull /* the last page below 4 GiB */
#define FUZZ_HIGH_SIZE	   0x1000ull
#define FUZZ_TOP_GPA	   0xffffffffffffe000ull /* ends one page short of 2^64 */
#define FUZZ_TOP_SIZE	   0x1000ull

struct fuzz_guest {
	struct guest_memory mem;
	uint8_t *host[GUEST_MEMORY_MAX_REGIONS];
};

/* Maps the regions (once per process). */
void fuzz_guest_init(struct fuzz_guest *g);

/* Zeroes every region: each input starts from the same memory. */
void fuzz_guest_reset(struct fuzz_guest *g);

/* The host address of [gpa, gpa + len) when it lies inside one region,
 * read-only ones included (the harness plays the guest and the loader);
 * NULL otherwise. */
uint8_t *fuzz_guest_at(struct fuzz_guest *g, uint64_t gpa, uint64_t len);

/* Stores len bytes at gpa, each byte that falls inside some region (a
 * request may straddle a region's end on purpose). */
void fuzz_guest_put(struct fuzz_guest *g, uint64_t gpa, const void *src, uint64_t len);

/* A value near one of the memory map's edges, or anywhere: a region's
 * first or last byte, one past its end, 2^32, 2^63, 2^64 - 1, a few
 * bytes either side, or 64 raw bits.  For addresses and lengths alike. */
uint64_t fuzz_edge(struct fuzz_input *in);

#endif
