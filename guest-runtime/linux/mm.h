/* SPDX-License-Identifier: MIT */
/*
 * A Linux process's address space in the lower half: the list of mapped
 * areas (what mmap, mprotect, munmap and brk see) and the page tables that
 * the page-fault handler fills lazily.
 *
 * Page-table entries carry two software bits: PTE_OWNED marks a private
 * page from pmem (freed on unmap, writable when the area is); pages
 * without it belong to a read-only image and are copied on first write.
 * PTE_SHARED marks a page that belongs to a file (MAP_SHARED of a tmpfs
 * file): writable in place, never freed by unmapping.
 * PTE_PROTNONE keeps a populated page under PROT_NONE (not present, but
 * its contents survive until the protection is lifted).
 */
#ifndef GUEST_LINUX_MM_H
#define GUEST_LINUX_MM_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/paging.h"
#include "kernel/spinlock.h"

#define PTE_OWNED    (1ull << 9)
#define PTE_PROTNONE (1ull << 10)
#define PTE_SHARED   (1ull << 11)

/* Where the program's pages come from. */
enum vma_backing {
	VMA_ANON,   /* zero-filled on first touch */
	VMA_IMAGE,  /* pages of a read-only image, mapped as they are */
	VMA_FILE,   /* copied from a file (tmpfs, host mounts) on first touch */
	VMA_SHARED, /* MAP_SHARED of a file that lends its own pages (tmpfs) */
};

struct file;

struct mm_backing {
	enum vma_backing kind;
	uint64_t image_phys; /* VMA_IMAGE: guest-physical address of file offset `offset` */
	uint64_t file_bytes; /* file data available from `offset` on; beyond it, zeros */
	struct file *file;   /* VMA_FILE (the area holds a reference) */
	uint64_t offset;     /* file offset of the area's first byte */
};

struct vma {
	struct vma *prev, *next;
	uint64_t start, end; /* page-aligned, [start, end) */
	uint32_t prot;	     /* PROT_* */
	uint32_t flags;	     /* MAP_SHARED / MAP_PRIVATE, MAP_GROWSDOWN */
	struct mm_backing backing;
};

struct mm {
	struct spinlock lock;
	uint64_t *pml4;
	struct vma *areas; /* sorted by address, non-overlapping */
	uint64_t brk_start, brk;
	uint64_t mmap_top; /* mmap without a hint searches below this */
	uint64_t stack_top;
};

/* Access kinds for mm_fault. */
#define MM_ACCESS_READ	1
#define MM_ACCESS_WRITE 2
#define MM_ACCESS_EXEC	4

enum mm_fault_result {
	MM_FAULT_DONE,
	MM_FAULT_UNMAPPED,  /* SEGV_MAPERR */
	MM_FAULT_PROTECTED, /* SEGV_ACCERR */
	MM_FAULT_NO_MEMORY,
};

void mm_init(struct mm *mm, uint64_t *pml4);

/* Maps [addr, addr + len) as mmap(2) would (flags: MAP_FIXED,
 * MAP_FIXED_NOREPLACE, MAP_32BIT, MAP_SHARED...; addr is a hint without
 * MAP_FIXED).  Returns the address or -errno. */
int64_t mm_map(struct mm *mm, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
	       const struct mm_backing *backing);
int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len);
int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, uint32_t prot);
/* MADV_DONTNEED: drops the pages; the next touch sees zeros (anonymous)
 * or the file again. */
int mm_discard(struct mm *mm, uint64_t addr, uint64_t len);
int64_t mm_remap(struct mm *mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		 uint32_t flags, uint64_t new_addr);
/* brk(2): returns the new break, or the old one when it cannot move. */
uint64_t mm_brk(struct mm *mm, uint64_t new_brk);

/* Resolves a fault at addr (user or kernel access to a user address). */
enum mm_fault_result mm_fault(struct mm *mm, uint64_t addr, unsigned int access);

/* True if every page of [addr, addr + len) is in some area. */
bool mm_range_mapped(struct mm *mm, uint64_t addr, uint64_t len);

/* The area containing addr, or NULL. */
struct vma *mm_find(struct mm *mm, uint64_t addr);

#endif
