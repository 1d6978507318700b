/* SPDX-License-Identifier: MIT */
/*
 * The one Linux process the guest runs, and its threads.  Everything a
 * thread shares with its siblings under CLONE_VM|CLONE_FILES|CLONE_FS
 * lives in struct process; what is per thread (kernel stack, TLS base,
 * tid, later the signal mask) lives in struct thread, so threads (the
 * next issue) add threads, not a new model.
 */
#ifndef GUEST_LINUX_PROCESS_H
#define GUEST_LINUX_PROCESS_H

#include <linux/limits.h>
#include <asm/siginfo.h>
#include <asm/signal.h>
#include <linux/resource.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/percpu.h"
#include "kernel/spinlock.h"
#include "linux/mm.h"

#define FD_TABLE_SIZE 1024
/* Path buffers (PATH_MAX) live on it: twice Linux's 16 KiB. */
#define THREAD_STACK_SIZE (32 * 1024)
#define TASK_COMM_LEN	  16
/* Linux x86-64 has 64 signals; the UAPI header only names the first 32. */
#define SIGNAL_COUNT 64
/* timer_create's timers per process (Linux allows thousands). */
#define POSIX_TIMER_MAX 32

struct file;
struct trap_frame;

struct fd_table {
	struct spinlock lock;
	struct file *files[FD_TABLE_SIZE];
	uint64_t cloexec[FD_TABLE_SIZE / 64];
};

struct process {
	int pid;
	struct mm mm;
	struct fd_table fds;
	char cwd[PATH_MAX];
	uint32_t umask;
	char exe[PATH_MAX];  /* /proc/self/exe */
	const char *cmdline; /* /proc/self/cmdline: argv, NUL-separated */
	uint64_t cmdline_len;
	struct rlimit64 rlimits[RLIM_NLIMITS];
	uint64_t start_ns;			/* CLOCK_MONOTONIC at exec */
	struct sigaction actions[SIGNAL_COUNT]; /* index = signal - 1 */
	/* setitimer's ITIMER_REAL, _VIRTUAL, _PROF: CLOCK_MONOTONIC ns of
	 * the next expiry (0: disarmed) and the interval. */
	struct {
		uint64_t deadline, interval;
	} itimers[3];
	/* timer_create's timers; a timer's id is its index. */
	struct posix_timer {
		bool used;
		int clock;  /* the clockid timer_settime's times are on */
		int notify; /* SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID */
		int signo;
		int target_tid; /* SIGEV_THREAD_ID's thread */
		sigval_t value;
		/* CLOCK_MONOTONIC ns of the next expiry (0: disarmed), and
		 * the interval. */
		uint64_t deadline, interval;
		int overrun; /* expiries missed before the last signal */
	} posix_timers[POSIX_TIMER_MAX];
	/* No timer expires before this (0: look again): spares the scan on
	 * every reschedule, which costs where ring 0 is emulated. */
	uint64_t posix_timers_due;
};

struct thread {
	int tid;
	struct process *proc;
	uint64_t kstack_top;
	uint64_t fs_base;
	uint64_t clear_child_tid;
	uint64_t robust_list, robust_list_len;
	char comm[TASK_COMM_LEN];
	uint64_t sigmask;     /* bit sig-1 blocked */
	uint64_t pending;     /* bit sig-1 sent, not yet delivered */
	uint64_t sigwait_set; /* rt_sigtimedwait's set while it waits */
	/* rt_sigsuspend's caller mask, put back by the handler's sigreturn
	 * (or at once if no handler runs). */
	uint64_t saved_sigmask;
	bool has_saved_sigmask;
	siginfo_t pending_info[SIGNAL_COUNT];
	/* The program's registers as its last system call or fault left
	 * them (on this thread's kernel stack). */
	struct trap_frame *frame;
	/* Scheduling (linux/scheduler.c). */
	enum { THREAD_RUNNING, THREAD_RUNNABLE, THREAD_BLOCKED, THREAD_DEAD } state;
	struct thread *next;   /* all threads of the process */
	uint64_t ksp;	       /* kernel stack pointer while switched out */
	void *fpu;	       /* FXSAVE image while switched out (512 bytes) */
	uint64_t deadline;     /* CLOCK_MONOTONIC ns a block ends, or NO_DEADLINE */
	int64_t wake_result;   /* what sched_block returns */
	uint64_t futex_addr;   /* the futex word waited on, or 0 */
	const void *wait_chan; /* what sched_wait_on waits for, or NULL */
	uint32_t futex_bitset;
	stack_t altstack; /* ss_flags SS_DISABLE when none */
};

static inline struct thread *current_thread(void)
{
	return this_cpu()->current;
}

static inline struct process *current_process(void)
{
	return this_cpu()->current->proc;
}

/* The process, with default limits, cwd "/", umask 022 and no files. */
struct process *process_create(const char *exe);
/* Descriptors 0, 1 and 2 on lispvm's own stdin, stdout and stderr. */
int process_open_stdio(struct process *p);
/* A thread of p with its own kernel stack; NULL when out of memory. */
struct thread *thread_create(struct process *p, int tid);

/* Ends the process: every thread, with this wait status (exit code << 8,
 * or the terminating signal). */
_Noreturn void process_exit(int status);

/* Kills the process with signal sig, as an unhandled fault would, after
 * naming the fault on the console. */
_Noreturn void process_kill_by_fault(int sig, const char *what, uint64_t addr, uint64_t rip);
/* A page the program touched cannot be given memory: killed as Linux's
 * OOM killer would (SIGKILL, status 137), with one line saying why. */
_Noreturn void process_kill_out_of_memory(uint64_t addr, uint64_t rip);

/* Wall-clock time at which the program started (for /proc and /dev
 * timestamps, which Linux gives their mount time). */
uint64_t process_start_realtime_ns(void);

/* Makes t the thread running on this CPU: kernel stack, TLS base. */
void thread_switch_to(struct thread *t);

#endif
