// SPDX-License-Identifier: MIT
// The check harness of the Linux syscall conformance program. Every check
// prints exactly one line, "ok N GROUP.NAME" or "not ok N GROUP.NAME:
// DETAIL", and the ok lines carry nothing run-specific (no addresses, pids,
// times or paths), so a native run and a guest run compare byte for byte.
#ifndef LINUX_TEST_HARNESS_H
#define LINUX_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

// x86-64 Linux; the process group checks that the kernel agrees.
#define PG 4096

void t_begin_group(const char *group);

// Passes iff cond; the detail (printf format) is printed only on failure.
bool t_check(const char *name, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
// A call that should succeed: passes iff ret != -1 and reports errno if not.
// Returns ret so setup steps can be checked and used in one line.
long t_ok(const char *name, long ret);
// A call that should fail: passes iff ret == -1 and errno == want.
bool t_err(const char *name, long ret, int want);
// Passes iff got == want; for return values and sizes.
bool t_eq(const char *name, long got, long want);
// Passes iff the n bytes at got equal those at want.
bool t_mem(const char *name, const void *got, const void *want, size_t n);
// Passes iff all n bytes at p are c.
bool t_fill(const char *name, const void *p, int c, size_t n);

// The run's private scratch directory (absolute): $TMPDIR or /tmp.
const char *t_tmpdir(void);
// Writes t_tmpdir()/name into buf (PATH_MAX bytes) and returns buf.
char *t_path(char *buf, const char *name);
// Writes dir/name into buf (PATH_MAX bytes) and returns buf.
char *t_join(char *buf, const char *dir, const char *name);

// Maps n bytes PROT_NONE (an address that faults) or returns NULL.
void *t_map_none(size_t n);

void group_files(void);
void group_dirs(void);
void group_pipes(void);
void group_memory(void);
void group_errno(void);
void group_time(void);
void group_process(int argc, char **argv);
void group_dev(void);
void group_io(void);
void group_signals(void);
void group_threads(void);
void group_sent_signals(void);
void group_timers(void);
int sent_abort(void);
int sent_segv(void);
int forged_sigreturn(void);
int sigreturn_bad_selector(const char *which);

#endif
