/* SPDX-License-Identifier: MIT */
/* When a process started: with its pid, what names it and no process
 * that reuses the pid later. */
#ifndef LISPVM_DAEMON_PROCESS_START_H
#define LISPVM_DAEMON_PROCESS_START_H

#include <stdint.h>
#include <sys/types.h>

/* Its start time in clock ticks since boot (/proc/PID/stat, field 22);
 * 0 if there is no such process. */
uint64_t process_start_time(pid_t pid);

#endif
