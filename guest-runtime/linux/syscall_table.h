/* SPDX-License-Identifier: MIT */
/* X(number, name) for every implemented system call; the handlers are
 * sys_NAME (SYSCALL_DEFINE). */
#ifndef GUEST_LINUX_SYSCALL_TABLE_H
#define GUEST_LINUX_SYSCALL_TABLE_H

#define SYSCALL_LIST(X)                                                                            \
	X(__NR_write, write)                                                                       \
	X(__NR_writev, writev)                                                                     \
	X(__NR_mmap, mmap)                                                                         \
	X(__NR_munmap, munmap)                                                                     \
	X(__NR_mprotect, mprotect)                                                                 \
	X(__NR_madvise, madvise)                                                                   \
	X(__NR_mremap, mremap)                                                                     \
	X(__NR_brk, brk)                                                                           \
	X(__NR_exit, exit)                                                                         \
	X(__NR_exit_group, exit_group)                                                             \
	X(__NR_getpid, getpid)                                                                     \
	X(__NR_gettid, gettid)                                                                     \
	X(__NR_getppid, getppid)                                                                   \
	X(__NR_getuid, getuid)                                                                     \
	X(__NR_geteuid, getuid)                                                                    \
	X(__NR_getgid, getuid)                                                                     \
	X(__NR_getegid, getuid)                                                                    \
	X(__NR_set_tid_address, set_tid_address)                                                   \
	X(__NR_set_robust_list, set_robust_list)                                                   \
	X(__NR_arch_prctl, arch_prctl)                                                             \
	X(__NR_uname, uname)                                                                       \
	X(__NR_prctl, prctl)                                                                       \
	X(__NR_prlimit64, prlimit64)                                                               \
	X(__NR_getrlimit, getrlimit)                                                               \
	X(__NR_setrlimit, setrlimit)                                                               \
	X(__NR_sched_yield, sched_yield)                                                           \
	X(__NR_rseq, rseq)

#endif
