/* SPDX-License-Identifier: MIT */
/*
 * poll, ppoll, select, pselect6 and the wait calls of a process without
 * children.  With nothing ready, the caller waits on the scheduler's
 * poll channel, which a file whose readiness changed wakes, and scans
 * again; a timeout ends the wait with nothing ready, a signal with EINTR
 * (ppoll and pselect6 wait with the mask they are given)
 * (an endless wait with no other thread is said once on stderr, then
 * waits, as Linux would hang).
 */
#include <errno.h>
#include <linux/poll.h>
#include <linux/time_types.h>
#include <linux/wait.h>
#include <string.h>

#include "fs/file.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "linux/fd.h"
#include "linux/poll_wait.h"
#include "linux/clocks.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define ALWAYS_READY (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)
#define FD_SET_BITS  1024 /* glibc's FD_SETSIZE */

unsigned int poll_file_ready(struct file *f)
{
	return f->ops->poll ? f->ops->poll(f) : ALWAYS_READY;
}

/* POLL* bits of fd that are ready, POLLNVAL for a bad descriptor. */
static unsigned int fd_ready(int fd)
{
	struct file *f = fd_get(fd);
	unsigned int ready;

	if (f == NULL)
		return POLLNVAL;
	ready = poll_file_ready(f);
	file_put(f);
	return ready;
}

uint64_t poll_deadline_after(uint64_t timeout_ns)
{
	return timeout_ns == NO_TIMEOUT ? NO_DEADLINE : clock_monotonic_ns() + timeout_ns;
}

int64_t poll_wait_for_readiness(uint64_t timeout_ns, uint64_t deadline)
{
	int64_t rc;

	if (timeout_ns == 0)
		return 1;
	if (signal_wanted_pending())
		return -EINTR; /* e.g. one ppoll's mask just unblocked */
	rc = sched_wait_on_until(&sched_poll_chan, deadline);
	return rc == -ETIMEDOUT ? 1 : rc;
}

static int64_t poll_scan(struct pollfd *fds, uint32_t nfds)
{
	int64_t ready = 0;

	for (uint32_t i = 0; i < nfds; i++) {
		unsigned int mask = (unsigned int)fds[i].events | POLLERR | POLLHUP | POLLNVAL;

		fds[i].revents = fds[i].fd < 0 ? 0 : (short)(fd_ready(fds[i].fd) & mask);
		ready += fds[i].revents != 0;
	}
	return ready;
}

static int64_t do_poll(uint64_t ufds, uint64_t nfds_arg, uint64_t timeout_ns)
{
	uint32_t nfds = (uint32_t)nfds_arg; /* Linux's is an unsigned int */
	uint64_t deadline = poll_deadline_after(timeout_ns);
	struct pollfd *fds;
	int64_t ready, rc;

	if (nfds > current_process()->rlimits[RLIMIT_NOFILE].rlim_cur || nfds > FD_TABLE_SIZE)
		return -EINVAL;
	fds = kmalloc(nfds * sizeof(*fds) + 1);
	if (fds == NULL)
		return -ENOMEM;
	if (copy_from_user(fds, ufds, nfds * sizeof(*fds)) < 0) {
		kfree(fds);
		return -EFAULT;
	}
	while ((ready = poll_scan(fds, nfds)) == 0) {
		if ((rc = poll_wait_for_readiness(timeout_ns, deadline)) != 0) {
			ready = rc > 0 ? 0 : rc;
			break;
		}
	}
	if (copy_to_user(ufds, fds, nfds * sizeof(*fds)) < 0)
		ready = -EFAULT;
	kfree(fds);
	return ready;
}

SYSCALL_DEFINE(poll)
{
	int timeout_ms = (int)a2;

	return do_poll(a0, a1, timeout_ms < 0 ? NO_TIMEOUT : (uint64_t)timeout_ms * 1000000);
}

int poll_timespec_ns(uint64_t uts, uint64_t *ns)
{
	struct __kernel_timespec ts;

	if (uts == 0) {
		*ns = NO_TIMEOUT;
		return 0;
	}
	if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (!timespec_valid(&ts))
		return -EINVAL;
	*ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return 0;
}

SYSCALL_DEFINE(ppoll)
{
	uint64_t ns;
	int rc = poll_timespec_ns(a2, &ns);

	if (rc < 0 || (rc = signal_mask_for_wait(a3, a4)) < 0)
		return rc;
	return do_poll(a0, a1, ns);
}

#define FD_SET_WORDS (FD_SET_BITS / 64)

/* The descriptors of in[] that are ready, as bits in out[]; their count,
 * or -EBADF. */
static int64_t select_scan(int nfds, const uint64_t in[3][FD_SET_WORDS],
			   uint64_t out[3][FD_SET_WORDS])
{
	static const unsigned int want[3] = {POLLIN | POLLRDNORM | POLLHUP | POLLERR,
					     POLLOUT | POLLWRNORM | POLLERR, POLLPRI};
	int64_t ready = 0;

	memset(out, 0, 3 * FD_SET_WORDS * sizeof(uint64_t));
	for (int fd = 0; fd < nfds; fd++) {
		uint64_t bit = 1ull << (fd % 64);
		unsigned int r;

		if (!((in[0][fd / 64] | in[1][fd / 64] | in[2][fd / 64]) & bit))
			continue;
		r = fd_ready(fd);
		if (r & POLLNVAL)
			return -EBADF;
		for (int s = 0; s < 3; s++) {
			if ((in[s][fd / 64] & bit) && (r & want[s])) {
				out[s][fd / 64] |= bit;
				ready++;
			}
		}
	}
	return ready;
}

/* One fd_set: nfds bits in 64-bit words. */
static int64_t select_sets(int nfds, uint64_t sets[3], uint64_t timeout_ns)
{
	uint64_t in[3][FD_SET_WORDS] = {{0}}, out[3][FD_SET_WORDS],
		 deadline = poll_deadline_after(timeout_ns), words;
	int64_t ready, rc;

	if (nfds < 0)
		return -EINVAL;
	if (nfds > FD_SET_BITS)
		nfds = FD_SET_BITS;	    /* as Linux caps it at the table's size */
	words = ((uint64_t)nfds + 63) / 64; /* after the cap: in[] holds no more */
	for (int s = 0; s < 3; s++)
		if (sets[s] && copy_from_user(in[s], sets[s], words * 8) < 0)
			return -EFAULT;
	while ((ready = select_scan(nfds, (const uint64_t(*)[FD_SET_WORDS])in, out)) == 0) {
		if ((rc = poll_wait_for_readiness(timeout_ns, deadline)) != 0) {
			if (rc < 0)
				return rc; /* the sets are left as they were, as Linux does */
			break;
		}
	}
	if (ready < 0)
		return ready;
	for (int s = 0; s < 3; s++)
		if (sets[s] && copy_to_user(sets[s], out[s], words * 8) < 0)
			return -EFAULT;
	return ready;
}

SYSCALL_DEFINE(select)
{
	uint64_t sets[3] = {a1, a2, a3}, ns = NO_TIMEOUT;
	struct __kernel_old_timeval tv;

	if (a4) {
		if (copy_from_user(&tv, a4, sizeof(tv)) < 0)
			return -EFAULT;
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EINVAL;
		ns = (uint64_t)tv.tv_sec * NSEC_PER_SEC + (uint64_t)tv.tv_usec * 1000;
	}
	return select_sets((int)a0, sets, ns);
}

SYSCALL_DEFINE(pselect6)
{
	uint64_t sets[3] = {a1, a2, a3}, ns;
	struct {
		uint64_t mask, size;
	} sigmask = {0, 0};
	int rc = poll_timespec_ns(a4, &ns);

	if (rc < 0)
		return rc;
	if (a5 && copy_from_user(&sigmask, a5, sizeof(sigmask)) < 0)
		return -EFAULT;
	if ((rc = signal_mask_for_wait(sigmask.mask, sigmask.size)) < 0)
		return rc;
	return select_sets((int)a0, sets, ns);
}

/* No children: fork does not exist here. */
SYSCALL_DEFINE(wait4)
{
	return -ECHILD;
}

SYSCALL_DEFINE(waitid)
{
	return -ECHILD;
}
