/* SPDX-License-Identifier: MIT */
/* What /proc/PID/stat says of a process: when it started (with its pid,
 * what names it and no process that reuses the pid later), and its CPU
 * time. */
#ifndef LISPVM_DAEMON_PROCESS_START_H
#define LISPVM_DAEMON_PROCESS_START_H

#include <stdint.h>
#include <sys/types.h>

struct process_stat {
	pid_t ppid;	       /* field 4 */
	uint64_t utime, stime; /* clock ticks (fields 14 and 15) */
	uint64_t start;	       /* clock ticks since boot (field 22) */
};

/* 0, or -1 if there is no such process. */
int process_stat_read(pid_t pid, struct process_stat *out);

/* Its start time; 0 if there is no such process. */
uint64_t process_start_time(pid_t pid);

#endif
