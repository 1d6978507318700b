// SPDX-License-Identifier: MIT
// The address space: mmap and friends, brk, and file mappings.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RW   (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

// mmap's result as a syscall-style return for t_err and t_ok.
static long mret(void *p)
{
	return p == MAP_FAILED ? -1 : 0;
}

static char *map_anon(size_t n)
{
	void *p = mmap(NULL, n, RW, ANON, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

// Three pages holding 1, 2 and 3.
static char *map_three(void)
{
	char *p = map_anon(3 * PG);

	if (p) {
		memset(p, 1, PG);
		memset(p + PG, 2, PG);
		memset(p + 2 * PG, 3, PG);
	}
	return p;
}

static void anonymous(void)
{
	char *p = mmap(NULL, 4 * PG, RW, ANON, -1, 0);
	size_t i;

	if (!t_check("mmap_anonymous", p != MAP_FAILED, "failed (%s)", strerror(errno)))
		return;
	t_eq("mmap_page_aligned", (uintptr_t)p % PG, 0);
	t_fill("mmap_anonymous_zero", p, 0, 4 * PG);
	for (i = 0; i < 4 * PG; i++)
		p[i] = (char)(i % 251);
	for (i = 0; i < 4 * PG && p[i] == (char)(i % 251); i++)
		;
	t_eq("mmap_anonymous_write_read", i, 4 * PG);
	t_eq("munmap", munmap(p, 4 * PG), 0);
	t_eq("munmap_nothing_mapped", munmap(p, 4 * PG), 0);
	t_err("msync_unmapped", msync(p, PG, MS_ASYNC), ENOMEM);
	t_err("mprotect_unmapped", mprotect(p, PG, PROT_READ), ENOMEM);
	t_err("madvise_unmapped", madvise(p, PG, MADV_DONTNEED), ENOMEM);
}

static void fixed(void)
{
	char *p = map_three(), *q;

	if (!t_check("map_three_pages", p != NULL, "failed (%s)", strerror(errno)))
		return;
	q = mmap(p + PG, PG, RW, ANON | MAP_FIXED, -1, 0);
	t_check("map_fixed_address", q == p + PG, "not at the requested address");
	t_fill("map_fixed_new_page_zero", p + PG, 0, PG);
	t_fill("map_fixed_left_neighbour_kept", p, 1, PG);
	t_fill("map_fixed_right_neighbour_kept", p + 2 * PG, 3, PG);
	t_err("map_fixed_noreplace_existing",
	      mret(mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)), EEXIST);
	t_err("map_fixed_noreplace_overlap",
	      mret(mmap(p + 2 * PG, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)), EEXIST);
	t_fill("map_fixed_noreplace_kept_contents", p + 2 * PG, 3, PG);

	t_eq("munmap_middle", munmap(p + PG, PG), 0);
	t_fill("munmap_middle_left_intact", p, 1, PG);
	t_fill("munmap_middle_right_intact", p + 2 * PG, 3, PG);
	t_err("msync_middle_hole", msync(p + PG, PG, MS_ASYNC), ENOMEM);
	q = mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
	t_check("map_fixed_noreplace_into_hole", q == p + PG, "not at the hole");
	t_fill("map_into_hole_zero", p + PG, 0, PG);
	munmap(p, 3 * PG);
}

static void protect_advise(void)
{
	char *p = map_anon(2 * PG);

	if (!p)
		return;
	memset(p, 5, 2 * PG);
	t_eq("mprotect_read", mprotect(p, 2 * PG, PROT_READ), 0);
	t_fill("read_after_mprotect_read", p, 5, 2 * PG);
	t_eq("mprotect_none", mprotect(p, PG, PROT_NONE), 0);
	t_eq("mprotect_rw", mprotect(p, 2 * PG, RW), 0);
	t_fill("mprotect_none_keeps_contents", p, 5, PG);
	p[0] = 6;
	t_eq("write_after_mprotect_rw", p[0], 6);
	t_err("mprotect_unaligned", mprotect(p + 1, PG, PROT_READ), EINVAL);
	t_err("mprotect_bad_prot", mprotect(p, PG, 0x10), EINVAL);

	memset(p, 9, 2 * PG);
	t_eq("madvise_dontneed", madvise(p, PG, MADV_DONTNEED), 0);
	t_fill("madvise_dontneed_reads_zero", p, 0, PG);
	t_fill("madvise_dontneed_only_the_range", p + PG, 9, PG);
	t_eq("madvise_willneed", madvise(p, 2 * PG, MADV_WILLNEED), 0);
	t_err("madvise_bad_advice", madvise(p, PG, 12345), EINVAL);
	t_err("madvise_unaligned", madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
	munmap(p, 2 * PG);
}

static void remap(void)
{
	char *p = map_anon(2 * PG), *q, *r, *t;

	if (!p)
		return;
	memset(p, 0x11, PG);
	memset(p + PG, 0x22, PG);
	q = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	if (!t_check("mremap_grow", q != MAP_FAILED, "failed (%s)", strerror(errno)))
		return;
	t_check("mremap_grow_keeps_contents",
		q[0] == 0x11 && q[PG - 1] == 0x11 && q[PG] == 0x22 && q[2 * PG - 1] == 0x22,
		"first two pages changed");
	t_fill("mremap_grow_new_pages_zero", q + 2 * PG, 0, 6 * PG);
	q[8 * PG - 1] = 1;
	r = mremap(q, 8 * PG, 4 * PG, 0);
	t_check("mremap_shrink_in_place", r == q, "moved or failed (%s)", strerror(errno));
	t_check("mremap_shrink_keeps_contents", q[0] == 0x11 && q[PG] == 0x22, "changed");
	// The first page is not a whole mapping's tail: it cannot grow in place.
	t_err("mremap_grow_no_room", mret(mremap(q, PG, 2 * PG, 0)), ENOMEM);
	t_err("mremap_unaligned", mret(mremap(q + 1, PG, 2 * PG, MREMAP_MAYMOVE)), EINVAL);
	t_err("mremap_fixed_without_maymove", mret(mremap(q, PG, PG, MREMAP_FIXED, q + 8 * PG)),
	      EINVAL);
	t_err("mremap_zero_new_size", mret(mremap(q, PG, 0, MREMAP_MAYMOVE)), EINVAL);
	t = map_anon(4 * PG);
	if (t) {
		r = mremap(q, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t);
		t_check("mremap_fixed", r == t, "not at the target");
		t_check("mremap_fixed_moves_contents", t[0] == 0x11 && t[PG] == 0x22, "changed");
		t_err("mremap_fixed_old_gone", msync(q, PG, MS_ASYNC), ENOMEM);
		t_err("mremap_unmapped", mret(mremap(q, PG, 2 * PG, MREMAP_MAYMOVE)), EFAULT);
		munmap(t, 4 * PG);
	}
}

static void special_flags(void)
{
	const size_t big = 64UL << 30;
	char *p;

	p = mmap(NULL, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_check("mmap_shared_anonymous", p != MAP_FAILED, "failed (%s)", strerror(errno))) {
		t_fill("shared_anonymous_zero", p, 0, 2 * PG);
		memset(p, 0x33, 2 * PG);
		t_fill("shared_anonymous_write_read", p, 0x33, 2 * PG);
		// Shared anonymous memory lives in an object, not in the page
		// tables: dropping the mapping's pages keeps the data.
		t_eq("madvise_dontneed_shared", madvise(p, PG, MADV_DONTNEED), 0);
		t_fill("madvise_dontneed_shared_keeps", p, 0x33, PG);
		munmap(p, 2 * PG);
	}
	p = mmap(NULL, PG, RW, ANON | MAP_32BIT, -1, 0);
	if (t_check("mmap_32bit", p != MAP_FAILED, "failed (%s)", strerror(errno))) {
		t_check("mmap_32bit_below_2g", (uintptr_t)p + PG <= 0x80000000UL,
			"not below 2 GiB");
		p[0] = 1;
		munmap(p, PG);
	}
	p = mmap(NULL, big, RW, ANON | MAP_NORESERVE, -1, 0);
	if (t_check("mmap_noreserve_64g", p != MAP_FAILED, "failed (%s)", strerror(errno))) {
		p[big / 2] = 42;
		t_eq("noreserve_touch_one_page", p[big / 2], 42);
		t_eq("noreserve_other_pages_zero", p[big / 2 + PG] + p[0] + p[big - 1], 0);
		t_eq("munmap_noreserve", munmap(p, big), 0);
	}
}

static void brk_checks(void)
{
	const long mib = 1 << 20;
	char *start = sbrk(0), *old, *p;
	long i;

	t_check("brk_query", syscall(SYS_brk, 0) == (long)start, "brk(0) differs from sbrk(0)");
	old = sbrk(mib);
	if (!t_check("sbrk_grow", old == start, "failed (%s)", strerror(errno)))
		return;
	memset(start, 0x5a, mib);
	for (i = 0; i < mib && start[i] == 0x5a; i++)
		;
	t_eq("brk_write_whole_range", i, mib);
	t_check("sbrk_new_break", sbrk(0) == start + mib, "break not moved by 1 MiB");
	t_check("sbrk_shrink", sbrk(-mib) == start + mib, "failed");
	t_check("sbrk_shrunk_break", sbrk(0) == start, "break not back at its start");
	// A break below the data segment is refused by returning the old one.
	t_check("brk_too_low_unchanged", syscall(SYS_brk, 4096) == (long)start, "break moved");
	p = sbrk(mib);
	if (t_check("sbrk_regrow", p == start, "failed (%s)", strerror(errno))) {
		t_fill("brk_regrow_reads_zero", start, 0, mib);
		sbrk(-mib);
	}
}

static void file_maps(void)
{
	static char pattern[3 * PG + 100], buf[PG];
	const size_t size = sizeof pattern;
	char path[PATH_MAX];
	struct stat st;
	char *p, *q, *s;
	int fd, ro, wo, pfd[2];
	size_t i;

	for (i = 0; i < size; i++)
		pattern[i] = (char)(i % 251 + 1);
	t_path(path, "map-file");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!t_check("write_file_to_map", fd >= 0 && write(fd, pattern, size) == (ssize_t)size,
		     "failed (%s)", strerror(errno)))
		return;
	p = mmap(NULL, 4 * PG, RW, MAP_PRIVATE, fd, 0);
	if (t_check("mmap_file_private", p != MAP_FAILED, "failed (%s)", strerror(errno))) {
		t_mem("file_map_contents", p, pattern, size);
		t_fill("file_map_past_eof_zero", p + size, 0, 4 * PG - size);
		p[0] = 'X';
		p[size + 10] = 'Y';
		t_eq("file_map_private_write", p[0], 'X');
		t_check("file_map_private_not_written_back",
			pread(fd, buf, PG, 0) == PG && !memcmp(buf, pattern, PG),
			"the file changed");
		t_check("file_map_private_size_unchanged",
			fstat(fd, &st) == 0 && st.st_size == (off_t)size, "size %ld",
			(long)st.st_size);
		// Dropping a private file page brings back the file's bytes.
		t_eq("madvise_dontneed_file_private", madvise(p, PG, MADV_DONTNEED), 0);
		t_eq("file_private_dontneed_rereads_file", p[0], pattern[0]);
		munmap(p, 4 * PG);
	}
	q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
	if (t_check("mmap_file_offset", q != MAP_FAILED, "failed (%s)", strerror(errno))) {
		t_mem("file_map_offset_contents", q, pattern + PG, PG);
		munmap(q, PG);
	}
	t_err("mmap_file_unaligned_offset", mret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100)),
	      EINVAL);
	s = mmap(NULL, PG, RW, MAP_SHARED, fd, 0);
	if (t_check("mmap_file_shared", s != MAP_FAILED, "failed (%s)", strerror(errno))) {
		char c = 0;

		s[1] = 'S';
		t_check("file_map_shared_write_visible", pread(fd, &c, 1, 1) == 1 && c == 'S',
			"pread sees 0x%02x", c);
		t_eq("pwrite_under_shared_map", pwrite(fd, "W", 1, 2), 1);
		t_eq("file_write_visible_in_shared_map", s[2], 'W');
		t_eq("msync", msync(s, PG, MS_SYNC), 0);
		munmap(s, PG);
	}
	ro = open(path, O_RDONLY);
	wo = open(path, O_WRONLY);
	t_err("mmap_shared_write_readonly_fd", mret(mmap(NULL, PG, RW, MAP_SHARED, ro, 0)), EACCES);
	p = mmap(NULL, PG, RW, MAP_PRIVATE, ro, 0);
	t_check("mmap_private_write_readonly_fd", p != MAP_FAILED, "failed (%s)", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, PG);
	t_err("mmap_writeonly_fd", mret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0)), EACCES);
	close(ro);
	close(wo);
	close(fd);
	unlink(path);
	fd = open(t_tmpdir(), O_RDONLY | O_DIRECTORY);
	t_err("mmap_directory", mret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0)), ENODEV);
	close(fd);
	if (pipe(pfd) == 0) {
		t_err("mmap_pipe", mret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0)), ENODEV);
		close(pfd[0]);
		close(pfd[1]);
	}
}

static void exec_map(void)
{
	// mov $42, %eax; ret
	static const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
	char *p = map_anon(PG);
	int (*fn)(void);

	if (!p)
		return;
	memcpy(p, code, sizeof code);
	t_eq("mprotect_exec", mprotect(p, PG, PROT_READ | PROT_EXEC), 0);
	memcpy(&fn, &p, sizeof fn);
	t_eq("run_generated_code", fn(), 42);
	munmap(p, PG);
}

static void bad_args(void)
{
	char *p = map_anon(PG);

	t_err("mmap_bad_fd", mret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 9999, 0)), EBADF);
	t_err("mmap_zero_length", mret(mmap(NULL, 0, RW, ANON, -1, 0)), EINVAL);
	t_err("mmap_fixed_unaligned",
	      mret(mmap((void *)0x10000001, PG, RW, ANON | MAP_FIXED, -1, 0)), EINVAL);
	t_err("mmap_no_type", mret(mmap(NULL, PG, RW, MAP_ANONYMOUS, -1, 0)), EINVAL);
	t_err("mmap_too_long", mret(mmap(NULL, 1UL << 62, RW, ANON, -1, 0)), ENOMEM);
	// The upper half is the kernel's: never a user mapping.
	t_err("mmap_fixed_kernel_half",
	      mret(mmap((void *)0xffff800000000000UL, PG, RW, ANON | MAP_FIXED, -1, 0)), ENOMEM);
	if (p) {
		t_err("munmap_unaligned", munmap(p + 1, PG), EINVAL);
		t_err("munmap_zero_length", munmap(p, 0), EINVAL);
		munmap(p, PG);
	}
}

void group_memory(void)
{
	anonymous();
	fixed();
	protect_advise();
	remap();
	special_flags();
	brk_checks();
	file_maps();
	exec_map();
	bad_args();
}

// Bad descriptors and bad user pointers must give errors, never crashes.
void group_errno(void)
{
	// volatile: the compiler must not see (and warn about) the bad pointers.
	char *volatile null = NULL;
	char *volatile kernel = (char *)0xffff800000000000UL;
	char *volatile noncanonical = (char *)0x0000800000000000UL;
	char buf[16], path[PATH_MAX];
	struct stat st;
	struct iovec iov;
	char *none = t_map_none(PG), *ro = mmap(NULL, PG, PROT_READ, ANON, -1, 0);
	int fd, p[2];

	t_err("read_bad_fd", read(9999, buf, 1), EBADF);
	t_err("write_bad_fd", write(9999, "x", 1), EBADF);
	t_err("close_bad_fd", close(9999), EBADF);
	t_err("fstat_bad_fd", fstat(9999, &st), EBADF);
	t_err("lseek_bad_fd", lseek(9999, 0, SEEK_SET), EBADF);
	t_err("read_negative_fd", read(-1, buf, 1), EBADF);
	t_err("close_negative_fd", close(-1), EBADF);
	t_err("unknown_syscall", syscall(1000), ENOSYS);
	if (!none || ro == MAP_FAILED)
		return;

	fd = open(t_path(path, "errno-file"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!t_check("make_file", fd >= 0 && write(fd, "0123456789abcdef", 16) == 16, "failed (%s)",
		     strerror(errno)))
		return;
	// The file has data at every offset read from, so only the buffer
	// can make these fail.
	t_err("read_into_null", pread(fd, null, 8, 0), EFAULT);
	t_err("read_into_prot_none", pread(fd, none, 8, 0), EFAULT);
	t_err("read_into_read_only", pread(fd, ro, 8, 0), EFAULT);
	t_err("read_into_kernel_address", pread(fd, kernel, 8, 0), EFAULT);
	t_err("read_into_noncanonical", pread(fd, noncanonical, 8, 0), EFAULT);
	t_err("write_from_null", pwrite(fd, null, 8, 0), EFAULT);
	t_err("write_from_prot_none", pwrite(fd, none, 8, 0), EFAULT);
	t_err("write_from_kernel_address", pwrite(fd, kernel, 8, 0), EFAULT);
	t_err("write_from_noncanonical", pwrite(fd, noncanonical, 8, 0), EFAULT);
	t_check("failed_writes_change_nothing",
		pread(fd, buf, 16, 0) == 16 && !memcmp(buf, "0123456789abcdef", 16) &&
			fstat(fd, &st) == 0 && st.st_size == 16,
		"the file changed");
	iov.iov_base = none;
	iov.iov_len = 8;
	t_err("readv_bad_buffer", preadv(fd, &iov, 1, 0), EFAULT);
	t_err("readv_bad_iovec", preadv(fd, (struct iovec *)none, 1, 0), EFAULT);
	t_err("fstat_bad_buffer", fstat(fd, (struct stat *)none), EFAULT);
	close(fd);
	unlink(path);

	t_err("open_path_prot_none", open(none, O_RDONLY), EFAULT);
	t_err("open_path_null", open(null, O_RDONLY), EFAULT);
	t_err("open_path_kernel_address", open(kernel, O_RDONLY), EFAULT);
	t_err("stat_empty_path", stat("", &st), ENOENT);
	t_err("stat_null_path", stat(null, &st), EFAULT);
	if (pipe(p) == 0) {
		t_err("pipe_write_from_prot_none", write(p[1], none, 8), EFAULT);
		t_eq("pipe_write", write(p[1], "pipedata", 8), 8);
		t_err("pipe_read_into_prot_none", read(p[0], none, 8), EFAULT);
		close(p[0]);
		close(p[1]);
	}
	t_err("pipe2_bad_pointer", syscall(SYS_pipe2, none, 0), EFAULT);
	t_err("clock_gettime_bad_pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, none),
	      EFAULT);
	t_err("uname_bad_pointer", syscall(SYS_uname, none), EFAULT);
	t_err("getcwd_bad_pointer", syscall(SYS_getcwd, none, 100), EFAULT);
	t_err("getrandom_bad_pointer", syscall(SYS_getrandom, none, 8, 0), EFAULT);
	t_err("getrandom_kernel_address", syscall(SYS_getrandom, kernel, 8, 0), EFAULT);
	munmap(none, PG);
	munmap(ro, PG);
}
