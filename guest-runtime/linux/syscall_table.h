/* SPDX-License-Identifier: MIT */
/* X(number, name) for every implemented system call; the handlers are
 * sys_NAME (SYSCALL_DEFINE). */
#ifndef GUEST_LINUX_SYSCALL_TABLE_H
#define GUEST_LINUX_SYSCALL_TABLE_H

#define SYSCALL_LIST(X)                                                                            \
	X(__NR_read, read)                                                                         \
	X(__NR_write, write)                                                                       \
	X(__NR_open, open)                                                                         \
	X(__NR_close, close)                                                                       \
	X(__NR_stat, stat)                                                                         \
	X(__NR_fstat, fstat)                                                                       \
	X(__NR_lstat, lstat)                                                                       \
	X(__NR_lseek, lseek)                                                                       \
	X(__NR_mmap, mmap)                                                                         \
	X(__NR_mprotect, mprotect)                                                                 \
	X(__NR_munmap, munmap)                                                                     \
	X(__NR_brk, brk)                                                                           \
	X(__NR_ioctl, ioctl)                                                                       \
	X(__NR_pread64, pread64)                                                                   \
	X(__NR_pwrite64, pwrite64)                                                                 \
	X(__NR_readv, readv)                                                                       \
	X(__NR_writev, writev)                                                                     \
	X(__NR_access, access)                                                                     \
	X(__NR_sched_yield, sched_yield)                                                           \
	X(__NR_mremap, mremap)                                                                     \
	X(__NR_madvise, madvise)                                                                   \
	X(__NR_dup, dup)                                                                           \
	X(__NR_dup2, dup2)                                                                         \
	X(__NR_nanosleep, nanosleep)                                                               \
	X(__NR_getpid, getpid)                                                                     \
	X(__NR_exit, exit)                                                                         \
	X(__NR_uname, uname)                                                                       \
	X(__NR_fcntl, fcntl)                                                                       \
	X(__NR_getcwd, getcwd)                                                                     \
	X(__NR_chdir, chdir)                                                                       \
	X(__NR_fchdir, fchdir)                                                                     \
	X(__NR_readlink, readlink)                                                                 \
	X(__NR_umask, umask)                                                                       \
	X(__NR_gettimeofday, gettimeofday)                                                         \
	X(__NR_getrlimit, getrlimit)                                                               \
	X(__NR_sysinfo, sysinfo)                                                                   \
	X(__NR_getuid, getuid)                                                                     \
	X(__NR_getgid, getuid)                                                                     \
	X(__NR_geteuid, getuid)                                                                    \
	X(__NR_getegid, getuid)                                                                    \
	X(__NR_getppid, getppid)                                                                   \
	X(__NR_setrlimit, setrlimit)                                                               \
	X(__NR_prctl, prctl)                                                                       \
	X(__NR_arch_prctl, arch_prctl)                                                             \
	X(__NR_gettid, gettid)                                                                     \
	X(__NR_time, time)                                                                         \
	X(__NR_sched_setaffinity, sched_setaffinity)                                               \
	X(__NR_sched_getaffinity, sched_getaffinity)                                               \
	X(__NR_getdents64, getdents64)                                                             \
	X(__NR_set_tid_address, set_tid_address)                                                   \
	X(__NR_clock_gettime, clock_gettime)                                                       \
	X(__NR_clock_getres, clock_getres)                                                         \
	X(__NR_clock_nanosleep, clock_nanosleep)                                                   \
	X(__NR_exit_group, exit_group)                                                             \
	X(__NR_openat, openat)                                                                     \
	X(__NR_newfstatat, newfstatat)                                                             \
	X(__NR_readlinkat, readlinkat)                                                             \
	X(__NR_faccessat, faccessat)                                                               \
	X(__NR_set_robust_list, set_robust_list)                                                   \
	X(__NR_dup3, dup3)                                                                         \
	X(__NR_prlimit64, prlimit64)                                                               \
	X(__NR_getrandom, getrandom)                                                               \
	X(__NR_statx, statx)                                                                       \
	X(__NR_rseq, rseq)                                                                         \
	X(__NR_close_range, close_range)                                                           \
	X(__NR_faccessat2, faccessat2)

#endif
