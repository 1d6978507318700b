/* SPDX-License-Identifier: MIT */
/* The kernel heap: power-of-two size classes carved from pages, and whole
 * pages for anything larger. */
#ifndef GUEST_KERNEL_KHEAP_H
#define GUEST_KERNEL_KHEAP_H

#include <stddef.h>

void *kmalloc(size_t size); /* 16-byte aligned; NULL when out of memory */
void *kzalloc(size_t size);
void kfree(void *p); /* NULL is fine; a bad pointer panics */

#endif
