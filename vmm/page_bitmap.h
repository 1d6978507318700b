/* SPDX-License-Identifier: MIT */
/* A bit per guest page, bit i in word i / 64: the layout of KVM's dirty
 * log, which the VMM's write tracking and a diff snapshot's changed pages
 * share. */
#ifndef LISPVM_VMM_PAGE_BITMAP_H
#define LISPVM_VMM_PAGE_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline size_t page_bitmap_words(uint64_t pages)
{
	return (pages + 63) / 64;
}

static inline bool page_bitmap_test(const uint64_t *bits, uint64_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static inline void page_bitmap_set(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= 1ull << (i % 64);
}

/* For bitmaps that several threads set at once. */
static inline void page_bitmap_set_atomic(uint64_t *bits, uint64_t i)
{
	__atomic_fetch_or(&bits[i / 64], 1ull << (i % 64), __ATOMIC_RELAXED);
}

#endif
