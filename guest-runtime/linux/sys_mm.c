/* SPDX-License-Identifier: MIT */
/* mmap, munmap, mprotect, madvise, mremap, brk. */
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/mman.h>

#include "arch/x86/layout.h"
#include "fs/file.h"
#include "kernel/pmem.h"
#include "linux/fd.h"
#include "linux/process.h"
#include "linux/syscall.h"

#define MAP_TYPE_MASK 0x0f
#define KNOWN_MAP_FLAGS                                                                            \
	(MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT |  \
	 MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE |             \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_FIXED_NOREPLACE)

static int file_backing(int fd, uint64_t offset, uint32_t prot, uint32_t flags,
			struct mm_backing *out, struct file **held)
{
	struct file *f = fd_get(fd);
	int rc;

	if (f == NULL)
		return -EBADF;
	*held = f;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	if ((flags & MAP_TYPE_MASK) == MAP_SHARED && (prot & PROT_WRITE) &&
	    (f->flags & O_ACCMODE) != O_RDWR)
		return -EACCES;
	if (f->ops->mmap == NULL)
		return -ENODEV;
	rc = f->ops->mmap(f, offset, out);
	if (rc < 0)
		return rc;
	if ((flags & MAP_TYPE_MASK) != MAP_PRIVATE && out->kind == VMA_FILE && f->ops->page)
		out->kind = VMA_SHARED;
	out->offset = offset;
	return 0;
}

/* Linux's default overcommit heuristic: one private writable mapping
 * larger than all of RAM can never be backed, so it fails now; reserves
 * made with MAP_NORESERVE (SBCL's heap, thread stacks) are not counted. */
static bool exceeds_ram(uint64_t len, uint32_t prot, uint32_t flags)
{
	if ((flags & MAP_NORESERVE) || (flags & MAP_TYPE_MASK) != MAP_PRIVATE ||
	    !(prot & PROT_WRITE))
		return false;
	return len / PAGE_SIZE > pmem_usable_count();
}

SYSCALL_DEFINE(mmap)
{
	uint64_t addr = a0, len = a1, offset = a5;
	uint32_t prot = (uint32_t)a2, flags = (uint32_t)a3, type = flags & MAP_TYPE_MASK;
	struct mm_backing backing = {.kind = VMA_ANON};
	struct file *held = NULL;
	int64_t rc;

	if (len == 0 || (offset & (PAGE_SIZE - 1)) || (flags & ~(uint32_t)KNOWN_MAP_FLAGS))
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (exceeds_ram(len, prot, flags))
		return -ENOMEM;
	if (!(flags & MAP_ANONYMOUS)) {
		rc = file_backing((int)a4, offset, prot, flags, &backing, &held);
		if (rc < 0) {
			file_put(held);
			return rc;
		}
	}
	rc = mm_map(&current_process()->mm, addr, len, prot, flags, &backing);
	file_put(held);
	return rc;
}

SYSCALL_DEFINE(munmap)
{
	return mm_unmap(&current_process()->mm, a0, a1);
}

SYSCALL_DEFINE(mprotect)
{
	return mm_protect(&current_process()->mm, a0, a1, (uint32_t)a2);
}

static int64_t advise(uint64_t addr, uint64_t len, uint64_t advice)
{
	switch (advice) {
	case MADV_DONTNEED:
		return mm_discard(&current_process()->mm, addr, len);
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_FREE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
		return 0; /* advice only */
	default:
		return -EINVAL;
	}
}

/* Linux applies the advice to what is mapped and then reports ENOMEM
 * for any hole in the range. */
SYSCALL_DEFINE(madvise)
{
	int64_t rc;

	if (a0 & (PAGE_SIZE - 1))
		return -EINVAL;
	rc = advise(a0, a1, a2);
	if (rc == 0 && a1 != 0 && !mm_range_mapped(&current_process()->mm, a0, a1))
		rc = -ENOMEM;
	return rc;
}

/* Memory is the only copy of a mapped file's pages that programs see
 * here (private copies, or tmpfs), so there is nothing to write back. */
SYSCALL_DEFINE(msync)
{
	if ((a0 & (PAGE_SIZE - 1)) || (a2 & ~(uint64_t)(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((a2 & MS_ASYNC) && (a2 & MS_SYNC)))
		return -EINVAL;
	return mm_range_mapped(&current_process()->mm, a0, a1) ? 0 : -ENOMEM;
}

SYSCALL_DEFINE(mremap)
{
	return mm_remap(&current_process()->mm, a0, a1, a2, (uint32_t)a3, a4);
}

SYSCALL_DEFINE(brk)
{
	return (int64_t)mm_brk(&current_process()->mm, a0);
}
