// SPDX-License-Identifier: MIT
// Readiness (poll, select, epoll), in-kernel copies (sendfile, copy_file_range),
// signal state (sigaction, sigprocmask, sigaltstack), statfs and the wait
// calls of a process without children.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void readiness(void)
{
	struct pollfd pfd[3];
	struct timeval tv = {0, 0};
	char path[PATH_MAX];
	fd_set rd, wr;
	int p[2], f;

	if (t_ok("pipe", pipe(p)) < 0)
		return;
	f = t_ok("open_file", open(t_path(path, "poll.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	pfd[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = p[1], .events = POLLOUT};
	pfd[2] = (struct pollfd){.fd = f, .events = POLLIN | POLLOUT};
	t_eq("poll_empty_pipe", poll(pfd, 3, 0), 2);
	t_eq("poll_empty_pipe_not_readable", pfd[0].revents, 0);
	t_eq("poll_pipe_writable", pfd[1].revents, POLLOUT);
	t_eq("poll_file_ready", pfd[2].revents, POLLIN | POLLOUT);
	t_eq("pipe_write", write(p[1], "abc", 3), 3);
	t_eq("poll_pipe_has_data", poll(pfd, 1, 0), 1);
	t_eq("poll_pipe_readable", pfd[0].revents, POLLIN);
	pfd[0].fd = 999;
	t_eq("poll_bad_fd", poll(pfd, 1, 0), 1);
	t_eq("poll_bad_fd_nval", pfd[0].revents, POLLNVAL);
	pfd[0].fd = -1;
	t_eq("poll_negative_fd_ignored", poll(pfd, 1, 0), 0);
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &wr);
	t_eq("select_ready", select(p[1] + 1, &rd, &wr, NULL, &tv), 2);
	t_check("select_sets", FD_ISSET(p[0], &rd) && FD_ISSET(p[1], &wr), "sets changed");
	// nfds past the descriptor table, with sets that long: only the
	// table's part is read.
	uint64_t big[4096 / 64] = {0};
	big[p[1] / 64] = 1ull << (p[1] % 64);
	big[3000 / 64] = ~0ull; // no such descriptors, but past the cap
	t_eq("select_sets_past_table", select(4096, NULL, (fd_set *)big, NULL, &tv), 1);
	close(p[1]);
	pfd[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
	t_eq("poll_after_writer_closed", poll(pfd, 1, 0), 1);
	t_eq("poll_hup_with_data", pfd[0].revents, POLLIN | POLLHUP);
	close(p[0]);
	close(f);
}

// Level-triggered readiness through epoll, entries of closed files
// dropped, EPOLLONESHOT, and the errors of epoll_ctl.
static void epolls(void)
{
	struct epoll_event ev, out[4];
	char path[PATH_MAX];
	int ep, p[2], f, n;

	ep = t_ok("epoll_create1", epoll_create1(EPOLL_CLOEXEC));
	if (ep < 0 || t_ok("epoll_pipe", pipe(p)) < 0)
		return;
	t_check("epoll_cloexec", fcntl(ep, F_GETFD) == FD_CLOEXEC, "flags %d", fcntl(ep, F_GETFD));
	int one = 1, zero = 0;
	char c;
	t_ok("fionbio_on", ioctl(p[0], FIONBIO, &one));
	t_check("fionbio_sets_flag", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0, "flags %#x",
		fcntl(p[0], F_GETFL));
	t_err("fionbio_read_would_block", read(p[0], &c, 1), EAGAIN);
	t_ok("fionbio_off", ioctl(p[0], FIONBIO, &zero));
	t_check("fionbio_clears_flag", (fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0, "flags %#x",
		fcntl(p[0], F_GETFL));
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 7};
	t_ok("epoll_add_read_end", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	t_err("epoll_add_twice", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	t_eq("epoll_nothing_ready", epoll_wait(ep, out, 4, 0), 0);
	t_eq("epoll_write", write(p[1], "x", 1), 1);
	n = epoll_wait(ep, out, 4, 0);
	t_check("epoll_readable", n == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 7,
		"n %d events %#x data %llu", n, n > 0 ? out[0].events : 0,
		n > 0 ? (unsigned long long)out[0].data.u64 : 0);
	t_eq("epoll_level_triggered", epoll_wait(ep, out, 4, 0), 1);
	t_eq("epoll_poll_on_epoll_fd", poll(&(struct pollfd){.fd = ep, .events = POLLIN}, 1, 0), 1);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8};
	t_ok("epoll_mod_oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	t_eq("epoll_oneshot_once", epoll_wait(ep, out, 4, 0), 1);
	t_eq("epoll_oneshot_then_quiet", epoll_wait(ep, out, 4, 0), 0);
	t_ok("epoll_mod_rearms", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	t_eq("epoll_rearmed", epoll_wait(ep, out, 4, 0), 1);
	t_ok("epoll_del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	t_err("epoll_del_twice", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
	t_err("epoll_mod_missing", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), ENOENT);
	ev = (struct epoll_event){.events = EPOLLOUT, .data.u64 = 9};
	t_ok("epoll_add_write_end", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
	close(p[0]);
	n = epoll_wait(ep, out, 4, 0);
	t_check("epoll_reader_gone", n == 1 && out[0].events == (EPOLLOUT | EPOLLERR),
		"n %d events %#x", n, n > 0 ? out[0].events : 0);
	close(p[1]);
	t_eq("epoll_closed_entry_dropped", epoll_wait(ep, out, 4, 0), 0);
	f = t_ok("epoll_open_file",
		 open(t_path(path, "epoll.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	t_err("epoll_regular_file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
	t_err("epoll_self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	t_err("epoll_bad_fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	t_err("epoll_not_epoll", epoll_ctl(f, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	t_err("epoll_wait_zero_max", epoll_wait(ep, out, 0, 0), EINVAL);
	t_err("epoll_create_zero", epoll_create(0), EINVAL);
	t_eq("epoll_timeout", epoll_wait(ep, out, 4, 20), 0);
	close(f);
	close(ep);
}

static void copies(void)
{
	char src[PATH_MAX], dst[PATH_MAX], buf[64] = {0};
	off_t off = 2;
	int in, out;

	in = t_ok("open_src", open(t_path(src, "copy-src"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	out = t_ok("open_dst", open(t_path(dst, "copy-dst"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	if (in < 0 || out < 0)
		return;
	t_eq("write_src", write(in, "0123456789", 10), 10);
	t_eq("sendfile_offset", sendfile(out, in, &off, 4), 4);
	t_eq("sendfile_offset_advanced", off, 6);
	t_eq("sendfile_in_pos_unchanged", lseek(in, 0, SEEK_CUR), 10);
	t_eq("pread_dst", pread(out, buf, sizeof buf, 0), 4);
	t_mem("sendfile_bytes", buf, "2345", 4);
	lseek(in, 8, SEEK_SET);
	t_eq("sendfile_position", sendfile(out, in, NULL, 100), 2);
	t_eq("sendfile_eof", sendfile(out, in, NULL, 100), 0);
	t_err("sendfile_bad_fd", sendfile(out, 999, NULL, 1), EBADF);
	off = 0;
	t_eq("copy_file_range", copy_file_range(in, &off, out, NULL, 3, 0), 3);
	t_eq("pread_dst_all", pread(out, buf, sizeof buf, 0), 9);
	t_mem("copy_file_range_bytes", buf, "234589012", 9);
	t_err("copy_file_range_flags", copy_file_range(in, &off, out, NULL, 3, 1), EINVAL);
	close(in);
	close(out);
}

static void handler(int sig)
{
	(void)sig;
}

static void signal_state(void)
{
	struct sigaction sa = {0}, old;
	sigset_t set, cur;
	stack_t ss = {0}, oss;
	void *stack = malloc(SIGSTKSZ);

	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	t_eq("sigaction_set", sigaction(SIGUSR1, &sa, NULL), 0);
	t_eq("sigaction_get", sigaction(SIGUSR1, NULL, &old), 0);
	t_check("sigaction_kept", old.sa_handler == handler && sigismember(&old.sa_mask, SIGUSR2),
		"handler or mask lost");
	t_err("sigaction_sigkill", sigaction(SIGKILL, &sa, NULL), EINVAL);
	t_err("sigaction_bad_signal", sigaction(65, &sa, NULL), EINVAL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGKILL);
	t_eq("sigprocmask_block", sigprocmask(SIG_BLOCK, &set, NULL), 0);
	t_eq("sigprocmask_get", sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	t_check("sigprocmask_blocked", sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGKILL),
		"mask wrong");
	t_eq("sigprocmask_unblock", sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	t_err("sigprocmask_bad_how", sigprocmask(99, &set, NULL), EINVAL);
	t_eq("sigpending", sigpending(&cur), 0);
	t_check("sigpending_empty", !sigismember(&cur, SIGUSR1), "SIGUSR1 pending");
	t_eq("sigaltstack_none", sigaltstack(NULL, &oss), 0);
	t_check("sigaltstack_disabled", oss.ss_flags == SS_DISABLE, "flags %d", oss.ss_flags);
	ss.ss_sp = stack;
	ss.ss_size = 100;
	t_err("sigaltstack_small", sigaltstack(&ss, NULL), ENOMEM);
	ss.ss_size = SIGSTKSZ;
	t_eq("sigaltstack_set", sigaltstack(&ss, NULL), 0);
	t_eq("sigaltstack_get", sigaltstack(NULL, &oss), 0);
	t_check("sigaltstack_kept",
		oss.ss_sp == stack && oss.ss_size == (size_t)SIGSTKSZ && oss.ss_flags == 0,
		"stack not kept");
	ss.ss_flags = SS_DISABLE;
	t_eq("sigaltstack_disable", sigaltstack(&ss, NULL), 0);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);
	free(stack);
}

static void filesystems(void)
{
	struct statfs st;
	int status;

	t_eq("statfs_tmp", statfs(t_tmpdir(), &st), 0);
	t_check("statfs_tmp_sizes", st.f_bsize > 0 && st.f_namelen == 255, "bsize %ld namelen %ld",
		(long)st.f_bsize, (long)st.f_namelen);
	t_err("statfs_missing", statfs("/no/such/dir", &st), ENOENT);
	t_err("wait4_no_children", wait4(-1, &status, WNOHANG, NULL), ECHILD);
	t_err("waitpid_no_children", waitpid(-1, &status, 0), ECHILD);
}

static void file_times(void)
{
	struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1200000000}};
	char path[PATH_MAX];
	struct stat st;
	int fd = t_ok("times_open", open(t_path(path, "times"), O_RDWR | O_CREAT | O_TRUNC, 0644));

	if (fd < 0)
		return;
	t_eq("utimensat", utimensat(AT_FDCWD, path, ts, 0), 0);
	t_check("utimensat_set",
		stat(path, &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
			st.st_atim.tv_nsec == 5 && st.st_mtim.tv_sec == 1200000000,
		"atime %ld.%09ld mtime %ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
		(long)st.st_mtim.tv_sec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = (struct timespec){.tv_sec = 1300000000};
	t_eq("futimens_omit", futimens(fd, ts), 0);
	t_check("futimens_kept_atime",
		fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
			st.st_mtim.tv_sec == 1300000000,
		"atime %ld mtime %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	t_eq("utimensat_now", utimensat(AT_FDCWD, path, NULL, 0), 0);
	t_check("utimensat_now_recent", stat(path, &st) == 0 && st.st_mtim.tv_sec > 1600000000,
		"mtime %ld", (long)st.st_mtim.tv_sec);
	ts[0].tv_nsec = 1000000000;
	t_err("utimensat_bad_nsec", utimensat(AT_FDCWD, path, ts, 0), EINVAL);
	t_err("utimensat_missing", utimensat(AT_FDCWD, "/no/such/file", NULL, 0), ENOENT);
	close(fd);
}

/* Cases a review found wrong in the guest once; each compares with Linux. */
static void mm_edges(void)
{
	long pg = PG;
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a, *dst, *q;
	int fd;

	if (p == MAP_FAILED)
		return;
	memset(p, 7, 3 * pg);
	// Protecting ranges that make areas merge keeps every page mapped.
	t_eq("mprotect_tail", mprotect(p + pg, 2 * pg, PROT_READ), 0);
	t_eq("mprotect_head_merges", mprotect(p, 2 * pg, PROT_READ), 0);
	t_check("mprotect_merge_keeps_pages", p[0] == 7 && p[pg] == 7 && p[2 * pg] == 7,
		"pages lost");
	munmap(p, 3 * pg);
	t_eq("madvise_zero_length", madvise(p, 0, MADV_DONTNEED), 0);
	// A length that wraps when rounded up is refused.
	a = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t_check("mremap_wrapping_length", mremap(a, pg, -(unsigned long)pg / 2, 0) == MAP_FAILED,
		"accepted");
	// Moving to a smaller size leaves nothing behind past the new end.
	dst = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(a, pg);
	a = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 'Z', 2 * pg);
	q = mremap(a, 2 * pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	t_check("mremap_fixed_shrink", q == dst && q[0] == 'Z', "moved wrong");
	q = mmap(dst + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0);
	t_check("mremap_fixed_shrink_no_leftover", q != MAP_FAILED && q[0] == 0, "byte %d",
		q == MAP_FAILED ? -1 : q[0]);
	t_check("mremap_fixed_overlap",
		mremap(dst, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED &&
			errno == EINVAL,
		"accepted");
	munmap(dst, 4 * pg);
	// Dropping one page of a private file mapping keeps writes elsewhere.
	fd = open("/proc/self/exe", O_RDONLY);
	p = fd < 0 ? MAP_FAILED : mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED) {
		p[0] = 'W';
		t_eq("madvise_one_page_of_file", madvise(p + 2 * pg, pg, MADV_DONTNEED), 0);
		t_check("madvise_keeps_other_copies", p[0] == 'W', "write lost");
		munmap(p, 3 * pg);
	}
	if (fd >= 0)
		close(fd);
}

static void fs_edges(void)
{
	char f1[PATH_MAX], f2[PATH_MAX], f3[PATH_MAX + 2];
	struct rlimit rl = {.rlim_cur = 1ul << 62, .rlim_max = 1ul << 62};
	struct pollfd pf = {.fd = -1, .events = POLLIN};
	char buf[4096] = {0};
	int fd, p[2];
	off_t off = 0;

	fd = open(t_path(f1, "edge-file"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	close(fd);
	t_path(f2, "edge-dest");
	snprintf(f3, sizeof f3, "%s/", f1);
	t_err("unlink_file_slash", unlink(f3), ENOTDIR);
	snprintf(f3, sizeof f3, "%s/", f2);
	t_err("rename_to_slash", rename(f1, f3), ENOTDIR);
	t_eq("file_still_there", access(f1, F_OK), 0);
	fd = open(f1, O_RDWR);
	t_eq("overlap_write", write(fd, buf, sizeof buf), (long)sizeof buf);
	off = 100;
	off_t out_off = 500;
	t_err("copy_file_range_overlap", copy_file_range(fd, &off, fd, &out_off, 1000, 0), EINVAL);
	close(fd);
	unlink(f1);
	if (pipe2(p, O_NONBLOCK) == 0) {
		long n = 0;

		while (write(p[1], buf, 1000) == 1000 && n < 1000000)
			n += 1000;
		// 1000 bytes free: a write of PIPE_BUF bytes or fewer is all
		// or nothing.
		t_eq("pipe_drain_some", read(p[0], buf, 1000), 1000);
		t_err("pipe_small_write_atomic", write(p[1], buf, 4096), EAGAIN);
		close(p[0]);
		close(p[1]);
	}
	// O_CREAT through a dangling symlink creates its target.
	t_path(f1, "dangle");
	t_path(f2, "dangle-target");
	t_eq("symlink_dangling", symlink("dangle-target", f1), 0);
	fd = open(f1, O_WRONLY | O_CREAT, 0644);
	t_check("creat_through_dangling_link", fd >= 0 && access(f2, F_OK) == 0, "errno %d", errno);
	if (fd >= 0)
		close(fd);
	t_err("creat_excl_on_link", open(f1, O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	unlink(f1);
	unlink(f2);
	// A new 0444 file is writable through the descriptor that made it.
	fd = open(t_path(f1, "readonly-new"), O_RDWR | O_CREAT | O_EXCL, 0444);
	t_eq("write_new_readonly_file", write(fd, "ok", 2), 2);
	close(fd);
	unlink(f1);
	t_eq("select_large_nfds", select(2000, NULL, NULL, NULL, &(struct timeval){0, 0}), 0);
	// Through syscall(): the kernel takes nfds as an unsigned int.
	t_eq("poll_nfds_is_unsigned_int", syscall(SYS_poll, &pf, (1ul << 32) + 1, 0), 0);
	t_err("setrlimit_nofile_huge", setrlimit(RLIMIT_NOFILE, &rl), EPERM);
}

// futex with one thread: nobody to wake, a differing word is EAGAIN,
// a timed wait times out.
static void futexes(void)
{
	static uint32_t word = 7;
	struct timespec short_wait = {0, 20000000};

	t_eq("futex_wake_nobody", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL), 0);
	t_err("futex_wait_value_differs", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 8, NULL),
	      EAGAIN);
	t_err("futex_wait_times_out", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 7, &short_wait),
	      ETIMEDOUT);
	t_err("futex_unaligned", syscall(SYS_futex, (char *)&word + 1, FUTEX_WAKE_PRIVATE, 1, NULL),
	      EINVAL);
	t_err("futex_bitset_zero",
	      syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 7, NULL, NULL, 0), EINVAL);
}

void group_io(void)
{
	readiness();
	epolls();
	copies();
	signal_state();
	filesystems();
	file_times();
	mm_edges();
	fs_edges();
	futexes();
}
