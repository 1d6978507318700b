/* SPDX-License-Identifier: MIT */
#include "linux/uaccess.h"

#include <errno.h>
#include <linux/limits.h>

#include "kernel/kheap.h"

#define STRING_STEP 64

extern const char uaccess_copy_insn_q[], uaccess_copy_fixup_q[];
extern const char uaccess_copy_insn_b[], uaccess_copy_fixup_b[];

int copy_from_user(void *dst, uint64_t user_src, uint64_t n)
{
	if (!user_range_ok(user_src, n) || uaccess_copy(dst, (const void *)user_src, n) != 0)
		return -EFAULT;
	return 0;
}

int copy_to_user(uint64_t user_dst, const void *src, uint64_t n)
{
	if (!user_range_ok(user_dst, n) || uaccess_copy((void *)user_dst, src, n) != 0)
		return -EFAULT;
	return 0;
}

/* Page by page, so a string that ends just before an unmapped page is
 * fine. */
int64_t strncpy_from_user(char *dst, uint64_t user_src, uint64_t size)
{
	uint64_t done = 0;

	while (done < size) {
		uint64_t addr = user_src + done;
		uint64_t chunk = PAGE_SIZE - (addr & (PAGE_SIZE - 1));

		/* Small steps: copying costs per byte where ring 0 is
		 * emulated, and paths are short. */
		if (chunk > STRING_STEP)
			chunk = STRING_STEP;
		if (chunk > size - done)
			chunk = size - done;
		if (copy_from_user(dst + done, addr, chunk) < 0)
			return -EFAULT;
		for (uint64_t i = 0; i < chunk; i++)
			if (dst[done + i] == '\0')
				return (int64_t)(done + i);
		done += chunk;
	}
	return -ENAMETOOLONG;
}

uint64_t uaccess_fixup_for(uint64_t rip)
{
	if (rip == (uint64_t)uaccess_copy_insn_q)
		return (uint64_t)uaccess_copy_fixup_q;
	return rip == (uint64_t)uaccess_copy_insn_b ? (uint64_t)uaccess_copy_fixup_b : 0;
}

int user_path_get(uint64_t user, char **out)
{
	char *buf = kmalloc(PATH_MAX);
	int64_t n;

	*out = NULL;
	if (buf == NULL)
		return -ENOMEM;
	n = strncpy_from_user(buf, user, PATH_MAX);
	if (n < 0) {
		kfree(buf);
		return (int)n;
	}
	*out = buf;
	return 0;
}
