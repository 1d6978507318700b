// SPDX-License-Identifier: MIT
// Linux syscall conformance for a single-threaded process. It runs natively
// (the baseline: every expectation here is Linux's own behaviour) and, later,
// inside the lispvm guest. Usage:
//   syscalls [GROUP]          all groups, or one: files dirs pipes memory
//                             errno time process dev
//   syscalls fault-guard      die of SIGSEGV touching a PROT_NONE page
//   syscalls fault-mprotect   ... writing a page made PROT_READ
//   syscalls fault-ro-file-map ... writing a PROT_READ file mapping
//   syscalls exit N           exit_group(N)
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern int t_passed, t_failed;
extern char t_tmpdir_path[PATH_MAX];

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

// Prints the line the test driver looks for, and makes sure it has left
// before the process dies.
static void announce(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
}

static int fault_guard(void)
{
	volatile char *p = t_map_none(PG);

	if (!p) {
		perror("fault-guard: mmap");
		return 1;
	}
	announce("fault-guard: reading a PROT_NONE page");
	(void)p[0];
	announce("fault-guard: survived");
	return 1;
}

static int fault_mprotect(void)
{
	volatile char *p =
		mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("fault-mprotect: mmap");
		return 1;
	}
	p[0] = 1;
	if (mprotect((void *)p, PG, PROT_READ) != 0) {
		perror("fault-mprotect: mprotect");
		return 1;
	}
	announce("fault-mprotect: writing a page made PROT_READ");
	p[0] = 2;
	announce("fault-mprotect: survived");
	return 1;
}

static int fault_ro_file_map(void)
{
	char path[PATH_MAX], page[PG];
	volatile char *p;
	int fd;

	snprintf(path, sizeof path, "%s/lispvm-fault-XXXXXX", tmp_base());
	fd = mkstemp(path);
	if (fd < 0) {
		perror("fault-ro-file-map: mkstemp");
		return 1;
	}
	// The mapping outlives both the name and the descriptor, so nothing is
	// left behind when the process dies.
	unlink(path);
	memset(page, 'r', sizeof page);
	if (write(fd, page, sizeof page) != (ssize_t)sizeof page) {
		perror("fault-ro-file-map: write");
		return 1;
	}
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("fault-ro-file-map: mmap");
		return 1;
	}
	if (p[0] != 'r') {
		announce("fault-ro-file-map: mapping does not show the file");
		return 1;
	}
	announce("fault-ro-file-map: writing a PROT_READ file mapping");
	p[0] = 'w';
	announce("fault-ro-file-map: survived");
	return 1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int run_groups(const char *only, int argc, char **argv)
{
	static const char *const names[] = {"files",   "dirs", "pipes", "memory",  "errno",  "time",
					    "process", "dev",  "io",	"signals", "threads"};
	char tmpl[PATH_MAX];
	bool found = false;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		found |= !only || strcmp(only, names[i]) == 0;
	if (!found) {
		fprintf(stderr, "syscalls: unknown group or command '%s'\n", only);
		return 2;
	}
	snprintf(tmpl, sizeof tmpl, "%s/lispvm-syscalls-XXXXXX", tmp_base());
	if (!mkdtemp(tmpl) || !realpath(tmpl, t_tmpdir_path)) {
		fprintf(stderr, "syscalls: cannot make a scratch directory under %s: %s\n",
			tmp_base(), strerror(errno));
		return 2;
	}

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *g = names[i];

		if (only && strcmp(only, g) != 0)
			continue;
		t_begin_group(g);
		if (!strcmp(g, "files"))
			group_files();
		else if (!strcmp(g, "dirs"))
			group_dirs();
		else if (!strcmp(g, "pipes"))
			group_pipes();
		else if (!strcmp(g, "memory"))
			group_memory();
		else if (!strcmp(g, "errno"))
			group_errno();
		else if (!strcmp(g, "time"))
			group_time();
		else if (!strcmp(g, "process"))
			group_process(argc, argv);
		else if (!strcmp(g, "dev"))
			group_dev();
		else if (!strcmp(g, "io"))
			group_io();
		else if (!strcmp(g, "signals"))
			group_signals();
		else if (!strcmp(g, "threads"))
			group_threads();
	}

	// Failed checks may leave files behind; remove whatever is there.
	nftw(t_tmpdir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("# passed %d failed %d\n", t_passed, t_failed);
	fflush(stdout);
	return t_failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	// A static, line-buffered stdout: no malloc (the brk checks move the
	// break) and no lines lost if a failing check kills the process.
	static char outbuf[8192];
	setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);

	if (argc == 3 && !strcmp(argv[1], "exit")) {
		char *end;
		long n = strtol(argv[2], &end, 10);

		if (*argv[2] == '\0' || *end != '\0') {
			fprintf(stderr, "syscalls: exit needs a number\n");
			return 2;
		}
		syscall(SYS_exit_group, n);
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "fault-guard"))
		return fault_guard();
	if (argc == 2 && !strcmp(argv[1], "fault-mprotect"))
		return fault_mprotect();
	if (argc == 2 && !strcmp(argv[1], "fault-ro-file-map"))
		return fault_ro_file_map();
	if (argc == 2 && !strcmp(argv[1], "forged-sigreturn"))
		return forged_sigreturn();
	if (argc == 2 && !strcmp(argv[1], "sigreturn-bad-cs"))
		return sigreturn_bad_selector("cs");
	if (argc == 2 && !strcmp(argv[1], "sigreturn-bad-ss"))
		return sigreturn_bad_selector("ss");
	if (argc == 2 && !strcmp(argv[1], "sent-segv"))
		return sent_segv();
	if (argc == 2 && !strcmp(argv[1], "sent-abort"))
		return sent_abort();
	if (argc > 2) {
		fprintf(stderr, "usage: syscalls [GROUP | fault-guard | fault-mprotect | "
				"fault-ro-file-map | forged-sigreturn | sigreturn-bad-cs | "
				"sigreturn-bad-ss | sent-segv | sent-abort | exit N]\n");
		return 2;
	}
	return run_groups(argc == 2 ? argv[1] : NULL, argc, argv);
}
