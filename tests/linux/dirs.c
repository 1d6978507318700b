// SPDX-License-Identifier: MIT
// Directories, the working directory, symlinks.
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct listing {
	char names[16][32];
	int n;
	bool types_ok;
	bool bad_record;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

// Reads the whole directory with getdents64 calls of bufsize bytes; returns
// the last call's result (0 at the end, -1 on error).
static long list_dir(int fd, size_t bufsize, struct listing *l)
{
	_Alignas(8) char buf[4096];
	long n;

	memset(l, 0, sizeof *l);
	l->types_ok = true;
	while ((n = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			unsigned char want = DT_REG;

			if (d->d_reclen == 0 || off + d->d_reclen > n || d->d_reclen % 8) {
				l->bad_record = true;
				return -2;
			}
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
			    !strcmp(d->d_name, "sub"))
				want = DT_DIR;
			// DT_UNKNOWN is allowed by Linux for any file system.
			if (d->d_type != want && d->d_type != DT_UNKNOWN)
				l->types_ok = false;
			if (l->n < 16)
				snprintf(l->names[l->n], sizeof l->names[0], "%s", d->d_name);
			l->n++;
			off += d->d_reclen;
		}
	}
	if (l->n <= 16)
		qsort(l->names, l->n, sizeof l->names[0], by_name);
	return n;
}

static void check_listing(const char *name, const struct listing *l, long last)
{
	static const char *const want[] = {".", "..", "a", "b", "c", "sub"};
	char got[256] = "";
	bool same = last == 0 && l->n == 6;

	for (int i = 0; i < l->n && i < 16; i++) {
		strcat(got, " ");
		strcat(got, l->names[i]);
		if (i < 6 && strcmp(l->names[i], want[i]))
			same = false;
	}
	t_check(name, same, "last call %ld, %d entries:%s; want . .. a b c sub", last, l->n, got);
}

static void getdents_checks(int dfd, int filefd)
{
	struct listing l;
	long last;
	char buf[64];
	DIR *dir;
	int n = 0;

	last = list_dir(dfd, 4096, &l);
	check_listing("getdents64_lists_names", &l, last);
	t_check("getdents64_types", l.types_ok, "a d_type is wrong (not DT_UNKNOWN either)");
	t_eq("getdents64_at_end", syscall(SYS_getdents64, dfd, buf, sizeof buf), 0);
	t_eq("lseek_dir_rewind", lseek(dfd, 0, SEEK_SET), 0);
	// 40 bytes hold one short entry per call: the position must carry
	// over between calls.
	last = list_dir(dfd, 40, &l);
	check_listing("getdents64_one_per_call", &l, last);
	lseek(dfd, 0, SEEK_SET);
	t_err("getdents64_buffer_too_small", syscall(SYS_getdents64, dfd, buf, 8), EINVAL);
	t_err("getdents64_not_dir", syscall(SYS_getdents64, filefd, buf, sizeof buf), ENOTDIR);
	t_err("getdents64_bad_fd", syscall(SYS_getdents64, 9999, buf, sizeof buf), EBADF);
	dir = fdopendir(dup(dfd));
	if (t_check("fdopendir", dir != NULL, "failed (%s)", strerror(errno))) {
		rewinddir(dir);
		while (readdir(dir))
			n++;
		t_eq("readdir_count", n, 6);
		closedir(dir);
	}
}

static void cwd_checks(const char *d, int dfd, const char *file)
{
	char saved[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX], small[4];
	struct stat s1, s2;
	int orig, fd;

	orig = t_ok("open_cwd", open(".", O_RDONLY | O_DIRECTORY));
	if (orig < 0 || !getcwd(saved, sizeof saved))
		return;
	t_eq("chdir", chdir(d), 0);
	t_check("getcwd_after_chdir", getcwd(cwd, sizeof cwd) && !strcmp(cwd, d),
		"getcwd differs from the directory changed to");
	t_check("getcwd_is_dot",
		stat(".", &s1) == 0 && fstat(dfd, &s2) == 0 && s1.st_ino == s2.st_ino &&
			s1.st_dev == s2.st_dev,
		"'.' is not the directory changed to");
	fd = open("a", O_RDONLY);
	t_check("open_relative_to_cwd", fd >= 0, "open(\"a\") failed (%s)", strerror(errno));
	close(fd);
	t_eq("chdir_relative", chdir("sub"), 0);
	t_join(want, d, "sub");
	t_check("getcwd_relative", getcwd(cwd, sizeof cwd) && !strcmp(cwd, want), "not DIR/sub");
	t_eq("chdir_dotdot", chdir(".."), 0);
	t_check("getcwd_dotdot", getcwd(cwd, sizeof cwd) && !strcmp(cwd, d), "not DIR");
	t_err("getcwd_too_small", getcwd(small, sizeof small) ? 0 : -1, ERANGE);
	t_eq("getcwd_raw_length", syscall(SYS_getcwd, cwd, sizeof cwd), (long)strlen(d) + 1);
	t_err("getcwd_raw_no_room_for_nul", syscall(SYS_getcwd, cwd, strlen(d)), ERANGE);
	t_eq("fchdir", fchdir(orig), 0);
	t_check("getcwd_after_fchdir", getcwd(cwd, sizeof cwd) && !strcmp(cwd, saved),
		"not the original directory");
	t_err("chdir_file", chdir(file), ENOTDIR);
	t_err("chdir_missing", chdir("/nonexistent-lispvm-dir"), ENOENT);
	fd = open(file, O_RDONLY);
	t_err("fchdir_file", fchdir(fd), ENOTDIR);
	close(fd);
	t_err("fchdir_bad_fd", fchdir(9999), EBADF);
	close(orig);
}

static void open_checks(const char *d, int dfd, const char *file)
{
	char buf[8] = {0};
	int fd, ffd;

	fd = t_ok("openat_relative", openat(dfd, "a", O_RDWR));
	t_eq("openat_write", write(fd, "A", 1), 1);
	close(fd);
	fd = open(file, O_RDONLY);
	t_check("openat_wrote_the_file", read(fd, buf, sizeof buf) == 1 && buf[0] == 'A',
		"read '%s'", buf);
	close(fd);
	fd = t_ok("openat_dotdot", openat(dfd, "sub/../a", O_RDONLY));
	close(fd);
	// An absolute path ignores the directory descriptor, even a bad one.
	fd = t_ok("openat_absolute_ignores_dirfd", openat(9999, file, O_RDONLY));
	close(fd);
	t_err("openat_bad_dirfd", openat(9999, "a", O_RDONLY), EBADF);
	ffd = open(file, O_RDONLY);
	t_err("openat_file_as_dirfd", openat(ffd, "x", O_RDONLY), ENOTDIR);
	t_err("open_directory_on_file", open(file, O_RDONLY | O_DIRECTORY), ENOTDIR);
	// Back to the start first: after a full listing ext4 leaves the
	// position at its hash EOF cookie (near LLONG_MAX), where read fails
	// with EINVAL on the position before the directory is even looked at.
	lseek(dfd, 0, SEEK_SET);
	t_err("read_directory", read(dfd, buf, sizeof buf), EISDIR);
	t_err("open_directory_for_write", open(d, O_WRONLY), EISDIR);
	t_err("open_directory_rdwr", open(d, O_RDWR), EISDIR);
	close(ffd);
}

static void link_checks(int dfd, const char *file)
{
	char buf[64], exe[PATH_MAX];
	struct stat st, st2;
	long n;
	int fd;

	t_err("readlink_not_symlink", readlink(file, buf, sizeof buf), EINVAL);
	t_err("readlink_missing", readlinkat(dfd, "missing", buf, sizeof buf), ENOENT);
	t_eq("symlink", symlinkat("target-of-link", dfd, "dangling"), 0);
	t_err("symlink_exists", symlinkat("x", dfd, "dangling"), EEXIST);
	memset(buf, 0, sizeof buf);
	t_eq("readlink", readlinkat(dfd, "dangling", buf, sizeof buf), 14);
	t_mem("readlink_target", buf, "target-of-link", 15);
	memset(buf, 0, sizeof buf);
	t_eq("readlink_truncates", readlinkat(dfd, "dangling", buf, 4), 4);
	t_mem("readlink_truncated_target", buf, "targ\0", 5);
	t_err("readlink_zero_size", readlinkat(dfd, "dangling", buf, 0), EINVAL);
	t_check("lstat_symlink",
		fstatat(dfd, "dangling", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
			st.st_size == 14,
		"not a symlink of size 14");
	t_err("stat_dangling", fstatat(dfd, "dangling", &st, 0), ENOENT);
	t_eq("symlink_to_file", symlinkat("a", dfd, "to-a"), 0);
	t_check("stat_follows_symlink",
		fstatat(dfd, "to-a", &st, 0) == 0 && stat(file, &st2) == 0 &&
			st.st_ino == st2.st_ino && S_ISREG(st.st_mode),
		"does not reach a");
	fd = t_ok("open_through_symlink", openat(dfd, "to-a", O_RDONLY));
	close(fd);
	t_err("open_nofollow_symlink", openat(dfd, "to-a", O_RDONLY | O_NOFOLLOW), ELOOP);
	unlinkat(dfd, "to-a", 0);
	unlinkat(dfd, "dangling", 0);

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	t_check("readlink_proc_self_exe", n > 0, "returned %ld (%s)", n, strerror(errno));
	exe[n > 0 ? n : 0] = '\0';
	t_check("proc_self_exe_absolute", exe[0] == '/', "does not start with '/'");
	t_check("proc_self_exe_same_file",
		stat("/proc/self/exe", &st) == 0 && stat(exe, &st2) == 0 &&
			st.st_ino == st2.st_ino && st.st_dev == st2.st_dev,
		"the link target is not the running program");
}

void group_dirs(void)
{
	char d[PATH_MAX], p[PATH_MAX], file[PATH_MAX], buf[64];
	const char *names[] = {"a", "b", "c"};
	struct stat st;
	int dfd, fd;

	t_path(d, "dir");
	t_join(file, d, "a");
	t_eq("mkdir", mkdir(d, 0755), 0);
	t_err("mkdir_exists", mkdir(d, 0755), EEXIST);
	t_err("mkdir_missing_parent", mkdir(t_path(p, "missing/sub"), 0755), ENOENT);
	dfd = t_ok("open_directory", open(d, O_RDONLY | O_DIRECTORY));
	if (dfd < 0)
		return;
	t_check("fstat_is_dir", fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode), "not S_ISDIR");
	for (int i = 0; i < 3; i++)
		close(openat(dfd, names[i], O_WRONLY | O_CREAT, 0644));
	t_eq("mkdirat", mkdirat(dfd, "sub", 0755), 0);
	t_err("mkdir_over_file", mkdir(file, 0755), EEXIST);
	t_err("rmdir_not_empty", rmdir(d), ENOTEMPTY);
	t_err("rmdir_file", rmdir(file), ENOTDIR);
	t_err("rmdir_missing", rmdir(t_path(p, "dir/missing")), ENOENT);
	t_join(p, d, "sub/.");
	t_err("rmdir_dot", rmdir(p), EINVAL);
	fd = open(file, O_RDONLY);
	getdents_checks(dfd, fd);
	close(fd);

	cwd_checks(d, dfd, file);
	open_checks(d, dfd, file);
	link_checks(dfd, file);

	t_join(p, d, "sub");
	t_err("rename_file_over_dir", rename(file, p), EISDIR);
	t_err("rename_dir_over_file", rename(p, file), ENOTDIR);
	t_err("rename_dir_into_itself", renameat(dfd, "sub", dfd, "sub/inside"), EINVAL);
	for (int i = 0; i < 3; i++)
		unlinkat(dfd, names[i], 0);
	t_eq("unlinkat_removedir", unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	t_eq("rmdir", rmdir(d), 0);
	// A removed directory stays open but refuses new entries and listing.
	t_err("getdents64_removed_dir", syscall(SYS_getdents64, dfd, buf, sizeof buf), ENOENT);
	t_err("openat_create_in_removed_dir", openat(dfd, "x", O_WRONLY | O_CREAT, 0644), ENOENT);
	close(dfd);
}
