// SPDX-License-Identifier: MIT
// Regular files and file descriptors.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static long fsize(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

// The lowest descriptor >= from that is not open: what dup and F_DUPFD
// must return.
static int lowest_free(int from)
{
	while (fcntl(from, F_GETFD) != -1)
		from++;
	return from;
}

// Creates name in the scratch directory with the given contents.
static bool make_file(const char *name, const char *contents)
{
	char p[PATH_MAX];
	size_t n = strlen(contents);
	int fd = open(t_path(p, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0 && write(fd, contents, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void read_write(int fd)
{
	char buf[256], zero[PG] = {0};
	char w1[] = "ab", w2[] = "", w3[] = "cdef";
	struct iovec wv[] = {{w1, 2}, {w2, 0}, {w3, 4}};
	char r1[4], r2[10];
	struct iovec rv[] = {{r1, sizeof r1}, {r2, sizeof r2}};

	t_eq("write", write(fd, "hello world", 11), 11);
	t_eq("offset_after_write", lseek(fd, 0, SEEK_CUR), 11);
	t_eq("read_at_eof", read(fd, buf, sizeof buf), 0);
	t_eq("lseek_set", lseek(fd, 0, SEEK_SET), 0);
	memset(buf, 0, sizeof buf);
	t_eq("read", read(fd, buf, sizeof buf), 11);
	t_mem("read_contents", buf, "hello world", 11);
	t_eq("pread", pread(fd, buf, 5, 6), 5);
	t_mem("pread_contents", buf, "world", 5);
	t_eq("pread_keeps_offset", lseek(fd, 0, SEEK_CUR), 11);
	t_eq("pwrite", pwrite(fd, "HELLO", 5, 0), 5);
	t_eq("pwrite_keeps_offset", lseek(fd, 0, SEEK_CUR), 11);
	t_eq("pread_after_pwrite", pread(fd, buf, sizeof buf, 0), 11);
	t_mem("pwrite_contents", buf, "HELLO world", 11);
	t_eq("pread_past_eof", pread(fd, buf, sizeof buf, 100), 0);
	t_err("pread_negative_offset", pread(fd, buf, 1, -1), EINVAL);

	t_eq("writev", writev(fd, wv, 3), 6);
	t_eq("size_after_writev", fsize(fd), 17);
	t_eq("lseek_back_for_readv", lseek(fd, 11, SEEK_SET), 11);
	memset(r1, 0, sizeof r1);
	memset(r2, 0, sizeof r2);
	t_eq("readv", readv(fd, rv, 2), 6);
	t_check("readv_contents", !memcmp(r1, "abcd", 4) && !memcmp(r2, "ef", 2),
		"got '%.4s' '%.2s', want 'abcd' 'ef'", r1, r2);
	t_eq("pwritev", pwritev(fd, wv, 3, 5), 6);
	t_eq("preadv", preadv(fd, rv, 2, 0), 14);
	t_check("preadv_contents", !memcmp(r1, "HELL", 4) && !memcmp(r2, "Oabcdefabc", 10),
		"got '%.4s' '%.10s'", r1, r2);

	t_eq("lseek_end", lseek(fd, -5, SEEK_END), 12);
	t_eq("lseek_cur", lseek(fd, 2, SEEK_CUR), 14);
	t_eq("lseek_past_end", lseek(fd, 1000, SEEK_SET), 1000);
	t_err("lseek_set_negative", lseek(fd, -1, SEEK_SET), EINVAL);
	t_err("lseek_cur_negative", lseek(fd, -1001, SEEK_CUR), EINVAL);
	t_err("lseek_end_negative", lseek(fd, -18, SEEK_END), EINVAL);
	t_err("lseek_bad_whence", lseek(fd, 0, 42), EINVAL);
	t_eq("failed_lseek_keeps_offset", lseek(fd, 0, SEEK_CUR), 1000);
	t_eq("write_past_end", write(fd, "Z", 1), 1);
	t_eq("size_after_write_past_end", fsize(fd), 1001);
	t_eq("read_hole", pread(fd, buf, sizeof buf, 17), sizeof buf);
	t_fill("hole_reads_zero", buf, 0, sizeof buf);

	t_eq("ftruncate_grow", ftruncate(fd, 3 * PG), 0);
	t_eq("size_after_grow", fsize(fd), 3 * PG);
	memset(buf, 0xaa, sizeof buf);
	t_eq("read_grown_part", pread(fd, buf, sizeof buf, 2 * PG), sizeof buf);
	t_fill("grown_part_reads_zero", buf, 0, sizeof buf);
	t_eq("ftruncate_shrink", ftruncate(fd, 3), 0);
	t_eq("size_after_shrink", fsize(fd), 3);
	t_eq("shrink_keeps_offset", lseek(fd, 0, SEEK_CUR), 1001);
	t_eq("read_after_shrink", pread(fd, buf, sizeof buf, 0), 3);
	t_mem("contents_after_shrink", buf, "HEL", 3);
	t_eq("ftruncate_regrow", ftruncate(fd, PG), 0);
	t_eq("read_after_regrow", pread(fd, buf, sizeof buf, 0), sizeof buf);
	// The bytes cut off by the shrink must not come back.
	t_mem("regrow_reads_zero", buf + 3, zero, sizeof buf - 3);
	t_err("ftruncate_negative", ftruncate(fd, -1), EINVAL);
	t_eq("ftruncate_zero", ftruncate(fd, 0), 0);
	t_eq("lseek_start", lseek(fd, 0, SEEK_SET), 0);
}

static void stat_checks(int dfd, int fd, const char *path)
{
	struct stat st, st2;
	struct statx stx;

	t_eq("write_for_stat", write(fd, "0123456789", 10), 10);
	if (t_ok("fstat", fstat(fd, &st)) == 0) {
		t_check("fstat_is_reg", S_ISREG(st.st_mode), "mode 0%o", st.st_mode);
		t_eq("fstat_size", st.st_size, 10);
		t_eq("fstat_perm", st.st_mode & 07777, 0644);
		t_eq("fstat_nlink", st.st_nlink, 1);
		t_check("fstat_blksize", st.st_blksize > 0, "st_blksize %ld", (long)st.st_blksize);
	}
	memset(&st2, 0, sizeof st2);
	if (t_ok("fstat_raw", syscall(SYS_fstat, fd, &st2)) == 0)
		t_check("fstat_raw_same_file", st2.st_ino == st.st_ino && st2.st_size == 10,
			"ino or size differ (size %ld)", (long)st2.st_size);
	memset(&st2, 0, sizeof st2);
	if (t_ok("stat", stat(path, &st2)) == 0)
		t_check("stat_same_file", st2.st_ino == st.st_ino && st2.st_dev == st.st_dev,
			"dev/ino differ from fstat");
	memset(&st2, 0, sizeof st2);
	if (t_ok("newfstatat", syscall(SYS_newfstatat, dfd, "file-a", &st2, 0)) == 0)
		t_check("newfstatat_size", st2.st_ino == st.st_ino && st2.st_size == 10, "size %ld",
			(long)st2.st_size);
	memset(&st2, 0, sizeof st2);
	if (t_ok("fstatat_empty_path", fstatat(fd, "", &st2, AT_EMPTY_PATH)) == 0)
		t_check("fstatat_empty_path_size", st2.st_ino == st.st_ino && st2.st_size == 10,
			"size %ld", (long)st2.st_size);
	t_err("fstatat_empty_without_flag", fstatat(fd, "", &st2, 0), ENOENT);
	t_err("fstatat_bad_flags", fstatat(dfd, "file-a", &st2, 0x40000000), EINVAL);
	memset(&stx, 0, sizeof stx);
	if (t_ok("statx", statx(dfd, "file-a", 0, STATX_SIZE | STATX_MODE | STATX_INO, &stx)) ==
	    0) {
		t_check("statx_mask",
			(stx.stx_mask & (STATX_SIZE | STATX_MODE | STATX_INO)) ==
				(STATX_SIZE | STATX_MODE | STATX_INO),
			"stx_mask 0x%x", stx.stx_mask);
		t_check("statx_is_reg", S_ISREG(stx.stx_mode), "mode 0%o", stx.stx_mode);
		t_eq("statx_size", stx.stx_size, 10);
		t_check("statx_same_ino", stx.stx_ino == st.st_ino, "ino differs from fstat");
	}
	memset(&stx, 0, sizeof stx);
	if (t_ok("statx_empty_path", statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &stx)) == 0)
		t_eq("statx_empty_path_size", stx.stx_size, 10);
	t_eq("fchmod", fchmod(fd, 0600), 0);
	t_check("fchmod_visible", stat(path, &st2) == 0 && (st2.st_mode & 07777) == 0600,
		"mode 0%o", st2.st_mode & 07777);
	t_eq("chmod", chmod(path, 0644), 0);
}

static void append_trunc(int fd, const char *path)
{
	char c = 0;
	int fa, ft;

	fa = t_ok("open_append", open(path, O_WRONLY | O_APPEND));
	if (fa < 0)
		return;
	t_eq("append_lseek_start", lseek(fa, 0, SEEK_SET), 0);
	t_eq("append_write", write(fa, "+", 1), 1);
	t_eq("append_offset_at_end", lseek(fa, 0, SEEK_CUR), 11);
	t_eq("append_size", fsize(fd), 11);
	t_check("append_wrote_at_end", pread(fd, &c, 1, 10) == 1 && c == '+', "byte 10 is 0x%02x",
		c);
	// Linux ignores the offset of pwrite on an O_APPEND descriptor
	// (pwrite(2), BUGS).
	t_eq("append_pwrite", pwrite(fa, "P", 1, 0), 1);
	t_eq("append_pwrite_appends", fsize(fd), 12);
	t_check("append_pwrite_keeps_start", pread(fd, &c, 1, 0) == 1 && c == '0',
		"byte 0 is 0x%02x", c);
	close(fa);

	ft = t_ok("open_trunc", open(path, O_RDWR | O_TRUNC));
	if (ft < 0)
		return;
	t_eq("trunc_size", fsize(ft), 0);
	t_eq("trunc_shared_inode", fsize(fd), 0);
	close(ft);
}

static void fcntl_checks(int fd, const char *path)
{
	int fl, cl, a, b;

	fl = t_ok("getfl", fcntl(fd, F_GETFL));
	t_check("getfl_rdwr", (fl & O_ACCMODE) == O_RDWR && !(fl & O_APPEND), "flags 0%o", fl);
	t_eq("setfl_append", fcntl(fd, F_SETFL, O_APPEND), 0);
	fl = fcntl(fd, F_GETFL);
	t_check("getfl_append", (fl & O_ACCMODE) == O_RDWR && (fl & O_APPEND), "flags 0%o", fl);
	lseek(fd, 0, SEEK_SET);
	t_eq("setfl_append_write", write(fd, "xy", 2), 2);
	t_eq("setfl_append_size", fsize(fd), 2);
	t_eq("setfl_append_write_again", write(fd, "z", 1), 1);
	t_eq("setfl_append_appends", fsize(fd), 3);
	// F_SETFL cannot change the access mode: O_RDONLY (0) only drops
	// O_APPEND.
	t_eq("setfl_rdonly", fcntl(fd, F_SETFL, O_RDONLY), 0);
	fl = fcntl(fd, F_GETFL);
	t_check("setfl_keeps_accmode", (fl & O_ACCMODE) == O_RDWR && !(fl & O_APPEND), "flags 0%o",
		fl);

	t_eq("getfd_default", fcntl(fd, F_GETFD), 0);
	t_eq("setfd_cloexec", fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	t_eq("getfd_cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
	cl = open(path, O_RDONLY | O_CLOEXEC);
	t_eq("open_cloexec_getfd", fcntl(cl, F_GETFD), FD_CLOEXEC);
	close(cl);

	int want = lowest_free(100);
	a = fcntl(fd, F_DUPFD, 100);
	t_eq("dupfd_lowest_at_least_arg", a, want);
	want = lowest_free(100);
	b = fcntl(fd, F_DUPFD, 100);
	t_eq("dupfd_next", b, want);
	t_eq("dupfd_clears_cloexec", fcntl(a, F_GETFD), 0);
	t_eq("dupfd_shares_offset", lseek(fd, 1, SEEK_SET) == 1 ? lseek(a, 0, SEEK_CUR) : -1, 1);
	fcntl(a, F_SETFL, O_APPEND);
	t_check("dupfd_shares_status_flags", fcntl(fd, F_GETFL) & O_APPEND,
		"O_APPEND set on the duplicate is not seen on the original");
	fcntl(fd, F_SETFL, 0);
	close(a);
	close(b);
	a = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	t_eq("dupfd_cloexec", fcntl(a, F_GETFD), FD_CLOEXEC);
	close(a);
	t_eq("setfd_clear", fcntl(fd, F_SETFD, 0), 0);
	t_err("dupfd_negative", fcntl(fd, F_DUPFD, -1), EINVAL);
	t_err("fcntl_bad_fd", fcntl(9999, F_GETFD), EBADF);
	t_err("fcntl_bad_cmd", fcntl(fd, 9999), EINVAL);
}

static void dup_checks(int fd, const char *other)
{
	struct stat s1, s2;
	int want, d, g;

	want = lowest_free(0);
	d = dup(fd);
	t_eq("dup_lowest", d, want);
	close(d);
	t_err("dup_bad_fd", dup(9999), EBADF);
	want = lowest_free(50);
	t_eq("dup2", dup2(fd, want), want);
	close(want);
	t_eq("dup2_same_fd", dup2(fd, fd), fd);
	t_err("dup2_same_bad_fd", dup2(9999, 9999), EBADF);
	t_err("dup2_bad_oldfd", dup2(9999, 50), EBADF);
	t_err("dup2_negative_newfd", dup2(fd, -1), EBADF);
	t_err("dup2_newfd_too_big", dup2(fd, INT_MAX), EBADF);
	g = open(other, O_RDONLY);
	// dup2 onto an open descriptor closes it silently and reuses it.
	t_eq("dup2_onto_open", dup2(fd, g), g);
	t_check("dup2_onto_open_same_file",
		fstat(fd, &s1) == 0 && fstat(g, &s2) == 0 && s1.st_ino == s2.st_ino,
		"the target does not refer to the source file");
	t_err("dup3_same_fd", dup3(fd, fd, 0), EINVAL);
	t_err("dup3_bad_flags", dup3(fd, g, O_APPEND), EINVAL);
	t_eq("dup3_cloexec", dup3(fd, g, O_CLOEXEC), g);
	t_eq("dup3_cloexec_getfd", fcntl(g, F_GETFD), FD_CLOEXEC);
	dup2(fd, g);
	t_eq("dup2_clears_cloexec", fcntl(g, F_GETFD), 0);
	close(g);
}

static void close_range_checks(int fd)
{
	int base = 60, i, bad = 0;

	while (lowest_free(base) != base || lowest_free(base + 1) != base + 1 ||
	       lowest_free(base + 2) != base + 2 || lowest_free(base + 3) != base + 3)
		base += 4;
	for (i = 0; i < 4; i++)
		dup2(fd, base + i);
	t_eq("close_range_cloexec",
	     syscall(SYS_close_range, base + 1, base + 2, CLOSE_RANGE_CLOEXEC), 0);
	t_check("close_range_cloexec_flags",
		fcntl(base, F_GETFD) == 0 && fcntl(base + 1, F_GETFD) == FD_CLOEXEC &&
			fcntl(base + 2, F_GETFD) == FD_CLOEXEC && fcntl(base + 3, F_GETFD) == 0,
		"FD_CLOEXEC not set on exactly the middle two");
	t_eq("close_range", syscall(SYS_close_range, base, base + 3, 0), 0);
	for (i = 0; i < 4; i++)
		bad += fcntl(base + i, F_GETFD) == -1 && errno == EBADF;
	t_eq("close_range_closed_all", bad, 4);
	t_eq("close_range_nothing_open", syscall(SYS_close_range, base, base + 3, 0), 0);
	t_err("close_range_first_above_last", syscall(SYS_close_range, 10, 5, 0), EINVAL);
	t_err("close_range_bad_flags", syscall(SYS_close_range, base, base + 3, 1u << 10), EINVAL);
	t_eq("close_range_spares_others", fcntl(fd, F_GETFD), 0);
}

static void access_checks(int dfd, int fd, const char *path)
{
	char p[PATH_MAX];

	t_eq("access_exists", access(path, F_OK), 0);
	t_eq("access_read_write", access(path, R_OK | W_OK), 0);
	// Even root needs an execute bit for X_OK on a file.
	t_err("access_exec_no_x_bit", access(path, X_OK), EACCES);
	t_err("access_missing", access(t_path(p, "missing"), F_OK), ENOENT);
	t_err("access_bad_mode", access(path, 0100), EINVAL);
	t_join(p, path, "x");
	t_err("access_through_file", access(p, F_OK), ENOTDIR);
	t_eq("faccessat", faccessat(dfd, "file-a", R_OK, 0), 0);
	t_err("faccessat_missing", syscall(SYS_faccessat, dfd, "missing", F_OK), ENOENT);
	t_eq("faccessat2_eaccess", syscall(SYS_faccessat2, dfd, "file-a", R_OK, AT_EACCESS), 0);
	t_eq("faccessat2_empty_path", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH), 0);
	t_err("faccessat2_bad_flags", syscall(SYS_faccessat2, dfd, "file-a", R_OK, 0x1), EINVAL);
}

static void unlink_rename(int dfd)
{
	char u[PATH_MAX], r1[PATH_MAX], r2[PATH_MAX], buf[8] = {0};
	struct stat st;
	int fd, old;

	t_path(u, "file-u");
	t_path(r1, "file-r1");
	t_path(r2, "file-r2");
	make_file("file-u", "data");
	fd = t_ok("open_before_unlink", open(u, O_RDONLY));
	t_eq("unlink", unlink(u), 0);
	t_err("open_after_unlink", open(u, O_RDONLY), ENOENT);
	t_err("unlink_again", unlink(u), ENOENT);
	t_eq("read_unlinked_open_file", read(fd, buf, sizeof buf), 4);
	t_check("fstat_unlinked_nlink", fstat(fd, &st) == 0 && st.st_nlink == 0, "st_nlink %ld",
		(long)st.st_nlink);
	close(fd);
	// Linux says EISDIR here where POSIX says EPERM.
	t_err("unlink_directory", unlink(t_tmpdir()), EISDIR);
	t_err("unlinkat_removedir_file", unlinkat(dfd, "file-a", AT_REMOVEDIR), ENOTDIR);
	t_err("unlinkat_bad_flags", unlinkat(dfd, "file-a", 0x1), EINVAL);

	make_file("file-r1", "one");
	make_file("file-r2", "two");
	old = open(r2, O_RDONLY);
	t_eq("rename_over_existing", rename(r1, r2), 0);
	t_err("rename_old_name_gone", access(r1, F_OK), ENOENT);
	fd = open(r2, O_RDONLY);
	memset(buf, 0, sizeof buf);
	t_check("rename_new_contents", read(fd, buf, sizeof buf) == 3 && !memcmp(buf, "one", 3),
		"read '%s'", buf);
	close(fd);
	memset(buf, 0, sizeof buf);
	t_check("rename_replaced_file_still_open",
		read(old, buf, sizeof buf) == 3 && !memcmp(buf, "two", 3), "read '%s'", buf);
	close(old);
	t_eq("rename_to_itself", rename(r2, r2), 0);
	t_err("rename_missing", rename(r1, r2), ENOENT);
	t_err("renameat2_noreplace_existing",
	      renameat2(dfd, "file-r2", dfd, "file-a", RENAME_NOREPLACE), EEXIST);
	t_eq("renameat2_noreplace_new", renameat2(dfd, "file-r2", dfd, "file-r3", RENAME_NOREPLACE),
	     0);
	t_eq("link", linkat(dfd, "file-r3", dfd, "file-r4", 0), 0);
	t_check("link_nlink", fstatat(dfd, "file-r4", &st, 0) == 0 && st.st_nlink == 2,
		"st_nlink %ld", (long)st.st_nlink);
	t_err("link_existing", linkat(dfd, "file-r3", dfd, "file-r4", 0), EEXIST);
	unlinkat(dfd, "file-r3", 0);
	unlinkat(dfd, "file-r4", 0);
}

void group_files(void)
{
	char a[PATH_MAX], b[PATH_MAX], m[PATH_MAX], buf[8];
	int dfd, fd, fd2;
	mode_t old_mask = umask(022);

	t_path(a, "file-a");
	t_path(b, "file-b");
	dfd = t_ok("open_scratch_dir", open(t_tmpdir(), O_RDONLY | O_DIRECTORY));
	fd = t_ok("open_creat_excl", open(a, O_RDWR | O_CREAT | O_EXCL, 0644));
	if (fd < 0 || dfd < 0)
		goto out;
	t_err("open_creat_excl_exists", open(a, O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	t_err("openat_creat_excl_exists", openat(dfd, "file-a", O_RDWR | O_CREAT | O_EXCL, 0644),
	      EEXIST);
	t_err("open_missing", open(t_path(m, "missing"), O_RDONLY), ENOENT);
	fd2 = t_ok("openat_creat", openat(dfd, "file-b", O_WRONLY | O_CREAT | O_EXCL, 0644));
	t_err("read_write_only_fd", read(fd2, buf, 1), EBADF);
	close(fd2);
	fd2 = t_ok("open_creat_existing", open(b, O_RDONLY | O_CREAT, 0644));
	t_err("write_read_only_fd", write(fd2, "x", 1), EBADF);
	t_err("ftruncate_read_only_fd", ftruncate(fd2, 0), EINVAL);
	close(fd2);

	read_write(fd);
	stat_checks(dfd, fd, a);
	append_trunc(fd, a);
	fcntl_checks(fd, a);
	dup_checks(fd, b);
	close_range_checks(fd);
	access_checks(dfd, fd, a);
	unlink_rename(dfd);

	t_eq("fsync", fsync(fd), 0);
	t_eq("fdatasync", fdatasync(fd), 0);
	t_err("fsync_bad_fd", fsync(9999), EBADF);
	t_eq("close", close(fd), 0);
	t_err("close_again", close(fd), EBADF);
	unlink(a);
	unlink(b);
out:
	if (dfd >= 0)
		close(dfd);
	umask(old_mask);
}
