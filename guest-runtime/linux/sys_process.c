/* SPDX-License-Identifier: MIT */
/* Identity, limits and the end of the process. */
#include <asm/prctl.h>
#include <errno.h>
#include <linux/kernel.h>
#include <linux/prctl.h>
#include <linux/random.h>
#include <linux/utsname.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "kernel/clock.h"
#include "kernel/entropy.h"
#include "kernel/pmem.h"
#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* One process, and its threads' ids follow its own (as after exec). */
#define GUEST_PID  1
#define GUEST_PPID 0
#define GUEST_UID  0 /* root in its own VM; nothing outside is reachable */
/* Linux returns at most this much per getrandom call. */
#define MAX_GETRANDOM 33554431ull

SYSCALL_DEFINE(exit_group)
{
	process_exit((int)((a0 & 0xff) << 8));
}

SYSCALL_DEFINE(getpid)
{
	return current_process()->pid;
}

SYSCALL_DEFINE(gettid)
{
	return current_thread()->tid;
}

SYSCALL_DEFINE(getppid)
{
	return GUEST_PPID;
}

SYSCALL_DEFINE(getuid)
{
	return GUEST_UID;
}

SYSCALL_DEFINE(set_tid_address)
{
	current_thread()->clear_child_tid = a0;
	return current_thread()->tid;
}

SYSCALL_DEFINE(set_robust_list)
{
	if (a1 != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	current_thread()->robust_list = a0;
	current_thread()->robust_list_len = a1;
	return 0;
}

SYSCALL_DEFINE(arch_prctl)
{
	struct thread *t = current_thread();

	switch (a0) {
	case ARCH_SET_FS:
		if (a1 >= USER_SPACE_END)
			return -EPERM;
		t->fs_base = a1;
		thread_switch_to(t);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(a1, &t->fs_base, sizeof(t->fs_base));
	default:
		return -EINVAL;
	}
}

/* glibc checks the release against its minimum kernel version. */
static const struct new_utsname utsname = {
	.sysname = "Linux",
	.nodename = "lispvm",
	.release = "6.1.0-lispvm",
	.version = "#1 SMP lispvm " LISPVM_VERSION,
	.machine = "x86_64",
	.domainname = "(none)",
};

SYSCALL_DEFINE(uname)
{
	return copy_to_user(a0, &utsname, sizeof(utsname));
}

SYSCALL_DEFINE(prctl)
{
	struct thread *t = current_thread();
	char name[TASK_COMM_LEN];
	int64_t n;

	switch (a0) {
	case PR_SET_NAME:
		n = strncpy_from_user(name, a1, sizeof(name));
		if (n == -EFAULT)
			return n;
		name[sizeof(name) - 1] = '\0';
		memcpy(t->comm, name, sizeof(name));
		return 0;
	case PR_GET_NAME:
		return copy_to_user(a1, t->comm, sizeof(t->comm));
	default:
		return -EINVAL;
	}
}

SYSCALL_DEFINE(prlimit64)
{
	struct process *p = current_process();
	struct rlimit64 new_limit;

	if (a0 != 0 && a0 != (uint64_t)p->pid)
		return -ESRCH;
	if (a1 >= RLIM_NLIMITS)
		return -EINVAL;
	if (a2 != 0) {
		if (copy_from_user(&new_limit, a2, sizeof(new_limit)) < 0)
			return -EFAULT;
		if (new_limit.rlim_cur > new_limit.rlim_max)
			return -EINVAL;
		/* Linux refuses descriptors beyond nr_open; here, the table. */
		if (a1 == RLIMIT_NOFILE && new_limit.rlim_max > FD_TABLE_SIZE)
			return -EPERM;
	}
	if (a3 != 0 && copy_to_user(a3, &p->rlimits[a1], sizeof(p->rlimits[a1])) < 0)
		return -EFAULT;
	if (a2 != 0)
		p->rlimits[a1] = new_limit;
	return 0;
}

SYSCALL_DEFINE(getrlimit)
{
	return sys_prlimit64(0, a0, 0, a1, 0, 0);
}

SYSCALL_DEFINE(setrlimit)
{
	return sys_prlimit64(0, a0, a1, 0, 0, 0);
}

/* glibc registers rseq when the kernel has it; without, it carries on. */
SYSCALL_DEFINE(rseq)
{
	return -ENOSYS;
}

SYSCALL_DEFINE(getrandom)
{
	uint8_t buf[256];
	uint64_t done = 0;

	if (a2 & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if (a1 > MAX_GETRANDOM)
		a1 = MAX_GETRANDOM;
	while (done < a1) {
		uint64_t n = a1 - done < sizeof(buf) ? a1 - done : sizeof(buf);

		if (entropy_fill(buf, n) < 0)
			return done ? (int64_t)done : -EIO;
		if (copy_to_user(a0 + done, buf, n) < 0)
			return done ? (int64_t)done : -EFAULT;
		done += n;
	}
	return (int64_t)done;
}

SYSCALL_DEFINE(sysinfo)
{
	struct sysinfo si;

	memset(&si, 0, sizeof(si));
	si.uptime = (long)(clock_monotonic_ns() / 1000000000ull);
	si.totalram = pmem_usable_count();
	si.freeram = pmem_free_count();
	si.procs = 1;
	si.mem_unit = PAGE_SIZE;
	return copy_to_user(a0, &si, sizeof(si));
}

/* One vCPU: CPU 0. */
SYSCALL_DEFINE(sched_getaffinity)
{
	uint8_t mask[8] = {1};

	if (a1 < sizeof(uint64_t) || (a1 & (sizeof(uint64_t) - 1)))
		return -EINVAL;
	if (copy_to_user(a2, mask, sizeof(mask)) < 0)
		return -EFAULT;
	return sizeof(mask);
}

SYSCALL_DEFINE(sched_setaffinity)
{
	return 0;
}

/* Everyone is root: real, effective and saved ids are all 0. */
SYSCALL_DEFINE(getresuid)
{
	uint32_t ids[3] = {0, 0, 0};

	if (copy_to_user(a0, &ids[0], 4) < 0 || copy_to_user(a1, &ids[1], 4) < 0 ||
	    copy_to_user(a2, &ids[2], 4) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE(getgroups)
{
	return (int64_t)a0 < 0 ? -EINVAL : 0; /* no supplementary groups */
}

/* PER_LINUX; changing the personality is refused, not ignored. */
SYSCALL_DEFINE(personality)
{
	if (a0 == 0xffffffffu || a0 == 0)
		return 0;
	return -EINVAL;
}

SYSCALL_DEFINE(getcpu)
{
	uint32_t zero = 0;

	if ((a0 && copy_to_user(a0, &zero, 4) < 0) || (a1 && copy_to_user(a1, &zero, 4) < 0))
		return -EFAULT;
	return 0;
}

/* All CPU time the process used is user time here: the guest does not
 * split ring 0 from ring 3 yet. */
SYSCALL_DEFINE(getrusage)
{
	struct rusage ru;
	uint64_t us = (clock_monotonic_ns() - current_process()->start_ns) / 1000;

	if ((int)a0 != RUSAGE_SELF && (int)a0 != RUSAGE_THREAD && (int)a0 != RUSAGE_CHILDREN)
		return -EINVAL;
	memset(&ru, 0, sizeof(ru));
	if ((int)a0 != RUSAGE_CHILDREN) {
		ru.ru_utime.tv_sec = (long)(us / 1000000);
		ru.ru_utime.tv_usec = (long)(us % 1000000);
	}
	return copy_to_user(a1, &ru, sizeof(ru));
}
