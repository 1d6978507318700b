// SPDX-License-Identifier: MIT
// Clocks, process identity, limits and other per-process state.
#define _GNU_SOURCE
#include "harness.h"

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int64_t now(clockid_t c)
{
	struct timespec t;
	return clock_gettime(c, &t) == 0 ? ns(&t) : -1;
}

static void clocks(void)
{
	static const struct {
		clockid_t id;
		const char *name;
	} all[] = {
		{CLOCK_REALTIME, "realtime"},
		{CLOCK_MONOTONIC, "monotonic"},
		{CLOCK_PROCESS_CPUTIME_ID, "process_cputime"},
		{CLOCK_THREAD_CPUTIME_ID, "thread_cputime"},
		{CLOCK_MONOTONIC_RAW, "monotonic_raw"},
		{CLOCK_REALTIME_COARSE, "realtime_coarse"},
		{CLOCK_MONOTONIC_COARSE, "monotonic_coarse"},
		{CLOCK_BOOTTIME, "boottime"},
	};
	char name[64];
	struct timespec t, res;
	long rc;

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		snprintf(name, sizeof name, "clock_gettime_%s", all[i].name);
		rc = clock_gettime(all[i].id, &t);
		t_check(name, rc == 0 && t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000,
			"returned %ld (%s)", rc, strerror(errno));
		snprintf(name, sizeof name, "clock_getres_%s", all[i].name);
		rc = clock_getres(all[i].id, &res);
		t_check(name, rc == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
			"returned %ld (%s), resolution %lld.%09ld s", rc, strerror(errno),
			(long long)res.tv_sec, res.tv_nsec);
	}
	t_eq("clock_gettime_realtime_raw", syscall(SYS_clock_gettime, CLOCK_REALTIME, &t), 0);
	t_check("realtime_after_2020", t.tv_sec > 1577836800, "tv_sec %lld", (long long)t.tv_sec);
	t_eq("clock_getres_null", clock_getres(CLOCK_MONOTONIC, NULL), 0);
	t_err("clock_gettime_bad_clock", clock_gettime(12345, &t), EINVAL);
	t_err("clock_getres_bad_clock", clock_getres(12345, &res), EINVAL);
}

static void monotonic(void)
{
	int64_t prev = now(CLOCK_MONOTONIC), cur, a, b, c, start;
	struct timespec t, rem, target;
	int i, backwards = 0;

	for (i = 0; i < 1000; i++) {
		cur = now(CLOCK_MONOTONIC);
		backwards += cur < prev;
		prev = cur;
	}
	t_eq("monotonic_never_decreases", backwards, 0);
	// The library's clock (a vDSO where there is one) and the system
	// call must read the same clock.
	a = now(CLOCK_MONOTONIC);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
	b = ns(&t);
	c = now(CLOCK_MONOTONIC);
	t_check("monotonic_library_and_syscall_agree", a <= b && b <= c, "out of order");

	start = now(CLOCK_MONOTONIC);
	t_eq("nanosleep_10ms", nanosleep(&(struct timespec){0, 10000000}, &rem), 0);
	cur = now(CLOCK_MONOTONIC);
	t_check("nanosleep_10ms_elapsed", cur - start >= 10000000, "slept %lld ns",
		(long long)(cur - start));
	clock_gettime(CLOCK_MONOTONIC, &target);
	target.tv_nsec += 5000000;
	if (target.tv_nsec >= 1000000000) {
		target.tv_sec++;
		target.tv_nsec -= 1000000000;
	}
	// clock_nanosleep returns the error number instead of setting errno.
	t_eq("clock_nanosleep_abstime",
	     clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL), 0);
	t_check("clock_nanosleep_abstime_reached", now(CLOCK_MONOTONIC) >= ns(&target),
		"woke before the target");
	t_eq("clock_nanosleep_past",
	     clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &(struct timespec){0, 0}, NULL), 0);
	t_eq("clock_nanosleep_bad_clock", clock_nanosleep(12345, 0, &(struct timespec){0, 1}, NULL),
	     EINVAL);
	t_err("nanosleep_nsec_too_big", nanosleep(&(struct timespec){0, 1000000000}, NULL), EINVAL);
	t_err("nanosleep_negative", nanosleep(&(struct timespec){-1, 0}, NULL), EINVAL);
}

static void wall_clocks(void)
{
	struct timeval tv;
	time_t t, traw;
	int64_t rt;

	rt = now(CLOCK_REALTIME);
	t_eq("gettimeofday", gettimeofday(&tv, NULL), 0);
	t_check("gettimeofday_usec_range", tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec %ld",
		(long)tv.tv_usec);
	t_check("gettimeofday_agrees", llabs(tv.tv_sec * 1000000000LL - rt) < 2000000000LL,
		"differs from CLOCK_REALTIME by %lld ns",
		(long long)(tv.tv_sec * 1000000000LL - rt));
	t_eq("gettimeofday_raw", syscall(SYS_gettimeofday, &tv, NULL), 0);
	t_check("gettimeofday_raw_agrees", llabs(tv.tv_sec * 1000000000LL - rt) < 2000000000LL,
		"differs from CLOCK_REALTIME");
	t = time(NULL);
	t_check("time_agrees", llabs(t * 1000000000LL - rt) < 2000000000LL,
		"differs from CLOCK_REALTIME by %lld ns", (long long)(t * 1000000000LL - rt));
	traw = syscall(SYS_time, NULL);
	t_check("time_raw_agrees", llabs(traw * 1000000000LL - rt) < 2000000000LL,
		"differs from CLOCK_REALTIME");
}

static void cpu_time(void)
{
	int64_t p0 = now(CLOCK_PROCESS_CPUTIME_ID), t0 = now(CLOCK_THREAD_CPUTIME_ID);
	int64_t end = now(CLOCK_MONOTONIC) + 20000000;
	volatile unsigned long spin = 0;

	while (now(CLOCK_MONOTONIC) < end)
		spin++;
	t_check("process_cputime_advances", now(CLOCK_PROCESS_CPUTIME_ID) > p0,
		"no CPU time after a 20 ms busy loop");
	t_check("thread_cputime_advances", now(CLOCK_THREAD_CPUTIME_ID) > t0,
		"no CPU time after a 20 ms busy loop");
}

void group_time(void)
{
	clocks();
	monotonic();
	wall_clocks();
	cpu_time();
}

static int lowest_free(int from)
{
	while (fcntl(from, F_GETFD) != -1)
		from++;
	return from;
}

static void identity(void)
{
	uid_t r, e, s;
	struct utsname u;
	struct sysinfo si;
	int ppid;

	t_eq("getpid_is_gettid", getpid(), gettid());
	t_eq("gettid_raw", syscall(SYS_gettid), getpid());
	t_eq("set_tid_address_returns_tid", syscall(SYS_set_tid_address, NULL), gettid());
	ppid = getppid();
	t_check("getppid", ppid >= 0 && ppid != getpid(), "getppid is the process itself or < 0");
	t_eq("getuid_is_geteuid", getuid(), geteuid());
	t_eq("getgid_is_getegid", getgid(), getegid());
	t_check("getresuid",
		getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid() && s == geteuid(),
		"does not match getuid/geteuid");
	t_check("getgroups", getgroups(0, NULL) >= 0, "failed (%s)", strerror(errno));
	if (t_eq("uname", uname(&u), 0)) {
		t_check("uname_sysname", !strcmp(u.sysname, "Linux"), "sysname '%s'", u.sysname);
		t_check("uname_machine", !strcmp(u.machine, "x86_64"), "machine '%s'", u.machine);
		t_check("uname_release", u.release[0] != '\0', "empty release");
	}
	if (t_eq("sysinfo", sysinfo(&si), 0)) {
		t_check("sysinfo_totalram", si.totalram > 0 && si.mem_unit > 0, "no RAM");
		t_check("sysinfo_freeram", si.freeram <= si.totalram, "more free than total");
		t_check("sysinfo_procs", si.procs >= 1, "procs %u", si.procs);
	}
	t_check("personality_linux", (syscall(SYS_personality, 0xffffffffUL) & 0xff) == 0,
		"not PER_LINUX");
}

static void startup_state(int argc, char **argv)
{
	unsigned long fsbase = 0, self = 0;
	const unsigned char *rnd;

	t_check("argc", argc >= 1 && argv[argc] == NULL, "argv not NULL-terminated at argc");
	t_check("argv0_nonempty", argv[0] && argv[0][0] != '\0', "empty argv[0]");
	t_check("environ", environ != NULL, "environ is NULL");
	t_eq("auxv_pagesz", getauxval(AT_PAGESZ), PG);
	t_eq("sysconf_pagesize", sysconf(_SC_PAGESIZE), PG);
	t_eq("auxv_clktck", getauxval(AT_CLKTCK), 100);
	t_check("auxv_phdr", getauxval(AT_PHDR) != 0 && getauxval(AT_PHNUM) > 0, "no AT_PHDR");
	t_check("auxv_entry", getauxval(AT_ENTRY) != 0, "no AT_ENTRY");
	t_eq("auxv_secure", getauxval(AT_SECURE), 0);
	t_check("auxv_ids",
		getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid() &&
			getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid(),
		"AT_UID/EUID/GID/EGID differ from the syscalls");
	rnd = (const unsigned char *)getauxval(AT_RANDOM);
	t_check("auxv_random", rnd && memcmp(rnd, (unsigned char[16]){0}, 16) != 0,
		"AT_RANDOM missing or 16 zero bytes");
	// glibc keeps its thread pointer in FS, and the TCB's first word
	// points to itself.
	t_eq("arch_prctl_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fsbase), 0);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	t_check("fs_base_is_tcb", fsbase != 0 && fsbase == self, "FS base is not glibc's TCB");
}

static void random_checks(void)
{
	unsigned char b[32] = {0}, zero[32] = {0};

	t_eq("getrandom", getrandom(b, sizeof b, 0), 32);
	t_check("getrandom_not_all_zero", memcmp(b, zero, sizeof b) != 0, "32 zero bytes");
	t_eq("getrandom_nonblock", getrandom(b, sizeof b, GRND_NONBLOCK), 32);
	t_err("getrandom_bad_flags", getrandom(b, sizeof b, 0x100), EINVAL);
}

static void limits(void)
{
	struct rlimit stack, nofile, r;
	int lim, fd, i, opened = 0, all_open = 1, last_errno = 0;
	int fds[64];

	t_eq("prlimit64_stack", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &stack), 0);
	t_check("rlimit_stack", stack.rlim_cur > 0 && stack.rlim_cur <= stack.rlim_max,
		"cur %llu max %llu", (unsigned long long)stack.rlim_cur,
		(unsigned long long)stack.rlim_max);
	t_eq("getrlimit_nofile", getrlimit(RLIMIT_NOFILE, &nofile), 0);
	t_check("rlimit_nofile", nofile.rlim_cur > 0 && nofile.rlim_cur <= nofile.rlim_max,
		"cur %llu max %llu", (unsigned long long)nofile.rlim_cur,
		(unsigned long long)nofile.rlim_max);
	t_err("getrlimit_bad_resource", getrlimit(RLIM_NLIMITS + 5, &r), EINVAL);
	// Refused before anything changes, so the hard limit stays.
	r.rlim_cur = 2;
	r.rlim_max = 1;
	t_err("setrlimit_soft_above_hard", setrlimit(RLIMIT_NOFILE, &r), EINVAL);

	// A soft limit just above the open descriptors: a few opens fill it.
	lim = lowest_free(0) + 8;
	r.rlim_cur = lim;
	r.rlim_max = nofile.rlim_max;
	if (!t_check("setrlimit_lower_nofile",
		     lim <= 64 && (rlim_t)lim <= nofile.rlim_cur &&
			     setrlimit(RLIMIT_NOFILE, &r) == 0,
		     "soft limit %d: too many open descriptors or setrlimit failed (%s)", lim,
		     strerror(errno)))
		return;
	while (opened < 64 && (fd = open("/dev/null", O_RDONLY)) >= 0)
		fds[opened++] = fd;
	last_errno = errno;
	t_check("open_beyond_nofile_emfile", opened < 64 && last_errno == EMFILE,
		"opened %d, then %s", opened, strerror(last_errno));
	for (i = 0; i < lim; i++)
		all_open &= fcntl(i, F_GETFD) != -1;
	t_check("nofile_filled_below_limit", all_open, "a descriptor below the limit is free");
	t_err("dup2_at_nofile_limit", dup2(0, lim), EBADF);
	t_err("dupfd_at_nofile_limit", fcntl(0, F_DUPFD, lim), EINVAL);
	for (i = 0; i < opened; i++)
		close(fds[i]);
	t_eq("setrlimit_restore_nofile", setrlimit(RLIMIT_NOFILE, &nofile), 0);
	t_check("nofile_restored",
		getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == nofile.rlim_cur &&
			r.rlim_max == nofile.rlim_max,
		"limit not restored");
}

static void scheduling(void)
{
	cpu_set_t set;
	char name[32] = {0}, saved[32] = {0};
	long n;
	int cpu;

	CPU_ZERO(&set);
	t_eq("sched_getaffinity", sched_getaffinity(0, sizeof set, &set), 0);
	t_check("affinity_has_cpu0", CPU_ISSET(0, &set), "CPU 0 not in the mask");
	n = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
	t_check("sched_getaffinity_raw_size", n > 0 && n % 8 == 0 && n <= (long)sizeof set,
		"returned %ld", n);
	cpu = sched_getcpu();
	t_check("sched_getcpu", cpu >= 0 && CPU_ISSET(cpu, &set), "cpu %d", cpu);
	t_eq("sched_yield", sched_yield(), 0);

	prctl(PR_GET_NAME, saved);
	t_eq("prctl_set_name", prctl(PR_SET_NAME, "lispvm-test"), 0);
	t_eq("prctl_get_name", prctl(PR_GET_NAME, name), 0);
	t_check("prctl_name_round_trip", !strcmp(name, "lispvm-test"), "got '%s'", name);
	prctl(PR_SET_NAME, "0123456789abcdefXYZ");
	memset(name, 0, sizeof name);
	prctl(PR_GET_NAME, name);
	t_check("prctl_name_truncated_to_15", !strcmp(name, "0123456789abcde"), "got '%s'", name);
	prctl(PR_SET_NAME, saved);
	t_err("prctl_bad_option", prctl(0x7fffffff, 0, 0, 0, 0), EINVAL);
}

static void umask_and_tty(void)
{
	char path[PATH_MAX];
	struct winsize ws;
	struct termios tio;
	struct stat st;
	mode_t old = umask(022);
	int fd;

	t_eq("umask_returns_previous", umask(077), 022);
	fd = open(t_path(path, "umask-file"), O_RDWR | O_CREAT | O_EXCL, 0666);
	t_check("umask_applies", fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0%o",
		st.st_mode & 0777);
	t_eq("umask_restore", umask(old), 077);
	t_err("tiocgwinsz_regular_file", ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
	t_err("tcgets_regular_file", ioctl(fd, TCGETS, &tio), ENOTTY);
	t_err("isatty_regular_file", isatty(fd) ? 0 : -1, ENOTTY);
	t_err("ioctl_unknown_regular_file", ioctl(fd, 0x7fff1234, 0), ENOTTY);
	t_err("ioctl_bad_fd", ioctl(9999, TCGETS, &tio), EBADF);
	close(fd);
	unlink(path);
}

void group_process(int argc, char **argv)
{
	struct rusage ru;

	identity();
	startup_state(argc, argv);
	random_checks();
	limits();
	scheduling();
	umask_and_tty();
	t_eq("getrusage", getrusage(RUSAGE_SELF, &ru), 0);
}
