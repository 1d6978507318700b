// SPDX-License-Identifier: MIT
// Pipes and the character devices every program expects in /dev.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static void nonblocking_pipe(void)
{
	char chunk[PG], c;
	long total = 0, drained = 0, n, size;
	int p[2];

	if (t_eq("pipe2_nonblock", pipe2(p, O_NONBLOCK), 0) == false)
		return;
	t_check("pipe2_nonblock_flags",
		(fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK),
		"O_NONBLOCK missing");
	t_err("read_empty_nonblock", read(p[0], &c, 1), EAGAIN);
	size = fcntl(p[0], F_GETPIPE_SZ);
	t_check("getpipe_sz", size >= PG, "F_GETPIPE_SZ %ld", size);
	memset(chunk, 'f', sizeof chunk);
	while ((n = write(p[1], chunk, sizeof chunk)) > 0 && total <= 64L * 1024 * 1024)
		total += n;
	// Page-sized writes fill a pipe exactly to its capacity.
	t_eq("fill_pipe_to_capacity", total, size);
	t_err("write_full_nonblock", write(p[1], "x", 1), EAGAIN);
	while ((n = read(p[0], chunk, sizeof chunk)) > 0)
		drained += n;
	t_eq("drain_pipe", drained, total);
	t_err("read_drained_nonblock", read(p[0], &c, 1), EAGAIN);
	close(p[0]);
	close(p[1]);
}

void group_pipes(void)
{
	char buf[64] = {0};
	struct stat st;
	int p[2], q[2], avail = -1, fl0, fl1;

	if (!t_eq("pipe2_cloexec", pipe2(p, O_CLOEXEC), 0))
		return;
	t_check("pipe2_cloexec_flags",
		fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC,
		"FD_CLOEXEC missing");
	fl0 = fcntl(p[0], F_GETFL);
	fl1 = fcntl(p[1], F_GETFL);
	t_check("pipe_access_modes", (fl0 & O_ACCMODE) == O_RDONLY && (fl1 & O_ACCMODE) == O_WRONLY,
		"flags 0%o 0%o", fl0, fl1);
	t_check("fstat_is_fifo", fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "not S_ISFIFO");
	t_eq("write", write(p[1], "ping", 4), 4);
	t_eq("fionread", ioctl(p[0], FIONREAD, &avail) == 0 ? avail : -1, 4);
	t_eq("read", read(p[0], buf, sizeof buf), 4);
	t_mem("read_contents", buf, "ping", 4);
	t_eq("write_ab", write(p[1], "ab", 2), 2);
	t_eq("write_cd", write(p[1], "cd", 2), 2);
	memset(buf, 0, sizeof buf);
	t_eq("read_joins_writes", read(p[0], buf, sizeof buf), 4);
	t_mem("read_joins_writes_contents", buf, "abcd", 4);
	t_err("lseek_pipe", lseek(p[0], 0, SEEK_CUR), ESPIPE);
	t_err("pread_pipe", pread(p[0], buf, 1, 0), ESPIPE);
	t_err("pwrite_pipe", pwrite(p[1], buf, 1, 0), ESPIPE);
	t_err("read_write_end", read(p[1], buf, 1), EBADF);
	t_err("write_read_end", write(p[0], "x", 1), EBADF);
	t_err("pipe2_bad_flags", pipe2(q, O_APPEND), EINVAL);
	t_eq("write_before_close", write(p[1], "bye", 3), 3);
	t_eq("close_writer", close(p[1]), 0);
	t_eq("read_after_writer_closed_gets_data", read(p[0], buf, sizeof buf), 3);
	t_eq("read_after_writer_closed_eof", read(p[0], buf, sizeof buf), 0);
	t_eq("read_eof_again", read(p[0], buf, sizeof buf), 0);
	close(p[0]);

	if (t_eq("pipe", pipe(q), 0)) {
		t_check("pipe_no_cloexec", fcntl(q[0], F_GETFD) == 0 && fcntl(q[1], F_GETFD) == 0,
			"FD_CLOEXEC set");
		t_check("pipe_blocking", !(fcntl(q[0], F_GETFL) & O_NONBLOCK), "O_NONBLOCK set");
		t_eq("setfl_nonblock", fcntl(q[0], F_SETFL, O_NONBLOCK), 0);
		t_err("read_after_setfl_nonblock", read(q[0], buf, 1), EAGAIN);
		close(q[0]);
		close(q[1]);
	}
	nonblocking_pipe();
}

// Opens a device, checks it is the character device major:minor.
static int open_dev(const char *name, const char *path, int flags, unsigned maj, unsigned min)
{
	char check[64];
	struct stat st;
	int fd = open(path, flags);

	snprintf(check, sizeof check, "open_%s", name);
	if (t_ok(check, fd) < 0)
		return -1;
	snprintf(check, sizeof check, "%s_is_chr_%u_%u", name, maj, min);
	t_check(check,
		fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
			minor(st.st_rdev) == min,
		"mode 0%o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
	return fd;
}

void group_dev(void)
{
	static char buf[PG], buf2[64];
	static const char zero64[64];
	// volatile: the compiler must not see (and warn about) the null buffer.
	char *volatile no_buffer = NULL;
	char *m;
	int fd;

	if ((fd = open_dev("null", "/dev/null", O_RDWR, 1, 3)) >= 0) {
		t_eq("null_read_eof", read(fd, buf, sizeof buf), 0);
		t_eq("null_write", write(fd, buf, 100), 100);
		// /dev/null never looks at the buffer.
		t_eq("null_write_null_buffer", write(fd, (const void *)no_buffer, 10), 10);
		t_eq("null_lseek", lseek(fd, 0, SEEK_SET), 0);
		t_err("null_tcgets", ioctl(fd, TCGETS, &(struct termios){0}), ENOTTY);
		close(fd);
	}
	if ((fd = open_dev("zero", "/dev/zero", O_RDWR, 1, 5)) >= 0) {
		memset(buf, 0xaa, sizeof buf);
		t_eq("zero_read", read(fd, buf, sizeof buf), sizeof buf);
		t_fill("zero_reads_zeros", buf, 0, sizeof buf);
		t_eq("zero_write", write(fd, buf, 10), 10);
		m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (t_check("zero_mmap_private", m != MAP_FAILED, "failed (%s)", strerror(errno))) {
			t_fill("zero_mmap_reads_zeros", m, 0, 2 * PG);
			m[PG] = 7;
			t_eq("zero_mmap_writable", m[PG], 7);
			munmap(m, 2 * PG);
		}
		close(fd);
	}
	if ((fd = open_dev("urandom", "/dev/urandom", O_RDONLY, 1, 9)) >= 0) {
		memset(buf, 0, 64);
		t_eq("urandom_read", read(fd, buf, 64), 64);
		t_check("urandom_not_all_zero", memcmp(buf, zero64, 64) != 0, "64 zero bytes");
		t_eq("urandom_read_again", read(fd, buf2, 64), 64);
		t_check("urandom_reads_differ", memcmp(buf, buf2, 64) != 0, "two reads equal");
		close(fd);
	}
}
