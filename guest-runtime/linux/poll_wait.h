/* SPDX-License-Identifier: MIT */
/* What poll, select and epoll share (sys_poll.c): a file's readiness and
 * the wait for a change in any file's. */
#ifndef GUEST_LINUX_POLL_WAIT_H
#define GUEST_LINUX_POLL_WAIT_H

#include <stdint.h>

struct file;

#define NO_TIMEOUT UINT64_MAX

/* POLL* bits ready now (a file without a poll operation always is). */
unsigned int poll_file_ready(struct file *f);

/* The monotonic deadline timeout_ns from now (NO_TIMEOUT: none). */
uint64_t poll_deadline_after(uint64_t timeout_ns);

/* A user struct __kernel_timespec at uts (0: none, NO_TIMEOUT) in ns;
 * 0, -EFAULT or -EINVAL. */
int poll_timespec_ns(uint64_t uts, uint64_t *ns);

/* Nothing was ready: 0 to scan again (some file changed), or the result
 * the call ends with: 1 at the deadline (or for a zero timeout), or
 * -EINTR. */
int64_t poll_wait_for_readiness(uint64_t timeout_ns, uint64_t deadline);

#endif
