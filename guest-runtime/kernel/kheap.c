/* SPDX-License-Identifier: MIT */
#include "kernel/kheap.h"

#include <stdint.h>
#include <string.h>

#include "kernel/memory.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define KHEAP_MIN_SHIFT 5  /* 32-byte blocks */
#define KHEAP_MAX_SHIFT 11 /* 2 KiB blocks; larger requests get pages */
#define KHEAP_CLASSES	(KHEAP_MAX_SHIFT - KHEAP_MIN_SHIFT + 1)
#define KHEAP_MAGIC	0x6b686561u /* "khea" */
#define KHEAP_LARGE	0xff

/* Every block starts with a header, which keeps the payload 16-aligned and
 * lets kfree() find the block's class or page count. */
struct block_header {
	uint32_t magic;
	uint32_t class; /* size class, or KHEAP_LARGE */
	uint64_t pages; /* for KHEAP_LARGE */
};

struct free_block {
	struct free_block *next;
};

_Static_assert(sizeof(struct block_header) == 16, "payload alignment");

static struct {
	struct spinlock lock;
	struct free_block *free_list[KHEAP_CLASSES];
} heap;

static unsigned int class_for(size_t total)
{
	unsigned int c = 0;

	while (((size_t)1 << (c + KHEAP_MIN_SHIFT)) < total)
		c++;
	return c;
}

/* Splits a fresh page into blocks of one class; lock held. */
static int refill(unsigned int c)
{
	size_t block = (size_t)1 << (c + KHEAP_MIN_SHIFT);
	uint64_t phys = pmem_alloc_pages(1);
	uint8_t *page;

	if (phys == 0)
		return -1;
	page = phys_to_virt(phys);
	for (size_t off = 0; off + block <= PAGE_SIZE; off += block) {
		struct free_block *b = (struct free_block *)(page + off);

		b->next = heap.free_list[c];
		heap.free_list[c] = b;
	}
	return 0;
}

static void *alloc_large(size_t total)
{
	uint64_t pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t phys = pmem_alloc_pages(pages);
	struct block_header *h;

	if (phys == 0)
		return NULL;
	h = phys_to_virt(phys);
	*h = (struct block_header){.magic = KHEAP_MAGIC, .class = KHEAP_LARGE, .pages = pages};
	return h + 1;
}

void *kmalloc(size_t size)
{
	size_t total = size + sizeof(struct block_header);
	struct block_header *h;
	unsigned int c;

	if (size == 0 || total < size)
		return NULL;
	if (total > ((size_t)1 << KHEAP_MAX_SHIFT))
		return alloc_large(total);
	c = class_for(total);
	spin_lock(&heap.lock);
	if (heap.free_list[c] == NULL && refill(c) < 0) {
		spin_unlock(&heap.lock);
		return NULL;
	}
	h = (struct block_header *)heap.free_list[c];
	heap.free_list[c] = heap.free_list[c]->next;
	spin_unlock(&heap.lock);
	*h = (struct block_header){.magic = KHEAP_MAGIC, .class = c};
	return h + 1;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	struct block_header *h;
	struct free_block *b;
	unsigned int c;

	if (p == NULL)
		return;
	h = (struct block_header *)p - 1;
	if (h->magic != KHEAP_MAGIC || (h->class >= KHEAP_CLASSES && h->class != KHEAP_LARGE))
		panic("kfree: %p is not a live heap block", p);
	h->magic = 0;
	if (h->class == KHEAP_LARGE) {
		pmem_free_pages(virt_to_phys(h), h->pages);
		return;
	}
	c = h->class; /* read before the free-list link overwrites it */
	b = (struct free_block *)h;
	spin_lock(&heap.lock);
	b->next = heap.free_list[c];
	heap.free_list[c] = b;
	spin_unlock(&heap.lock);
}
