// SPDX-License-Identifier: MIT
// Threads through glibc: pthread create/join, mutexes, condition
// variables, barriers, rwlocks, thread-local storage, and a signal sent
// with pthread_kill to a thread blocked in a condition wait.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <linux/sched.h>
#include <setjmp.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WORKERS 8
#define ROUNDS	2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static long counter, arrived, read_sum;
static __thread long mine;

static void *worker(void *arg)
{
	long id = (long)(intptr_t)arg;

	mine = id;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (i % 256 == 0)
			sched_yield();
	}
	pthread_rwlock_rdlock(&rw);
	__atomic_add_fetch(&read_sum, mine, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&rw);
	pthread_barrier_wait(&barrier);
	pthread_mutex_lock(&lock);
	arrived++;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	return (void *)(intptr_t)(mine * 10 + gettid() - getpid() - gettid() + getpid());
}

static void stress(void)
{
	pthread_t t[WORKERS];
	long joined = 0;
	int created = 0;

	pthread_barrier_init(&barrier, NULL, WORKERS);
	for (long i = 0; i < WORKERS; i++)
		created += pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0;
	t_eq("pthread_create", created, WORKERS);
	pthread_mutex_lock(&lock);
	while (arrived < WORKERS)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < WORKERS; i++) {
		void *r;

		if (pthread_join(t[i], &r) == 0)
			joined += (long)(intptr_t)r;
	}
	t_eq("mutex_counter", counter, (long)WORKERS * ROUNDS);
	t_eq("tls_and_join_values", joined, 280);
	t_eq("rwlock_readers", read_sum, 28);
	pthread_barrier_destroy(&barrier);
}

static volatile int usr1_thread_hits;
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wait_cond = PTHREAD_COND_INITIALIZER;
static int release;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_thread_hits++;
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wait_lock);
	while (!release)
		pthread_cond_wait(&wait_cond, &wait_lock);
	pthread_mutex_unlock(&wait_lock);
	return NULL;
}

static void signal_to_blocked_thread(void)
{
	pthread_t t;

	signal(SIGUSR1, on_usr1);
	if (pthread_create(&t, NULL, waiter, NULL) != 0)
		return;
	usleep(20000); // let it block in the condition wait
	t_eq("pthread_kill", pthread_kill(t, SIGUSR1), 0);
	usleep(20000);
	t_eq("blocked_thread_ran_handler", usr1_thread_hits, 1);
	pthread_mutex_lock(&wait_lock);
	release = 1;
	pthread_cond_signal(&wait_cond);
	pthread_mutex_unlock(&wait_lock);
	t_eq("waiter_joined", pthread_join(t, NULL), 0);
	signal(SIGUSR1, SIG_DFL);
}

static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL; // exits holding it
}

// A thread that dies holding a robust mutex: the next locker gets
// EOWNERDEAD, and the mutex works again once made consistent.
static void robust_mutex(void)
{
	pthread_mutexattr_t attr;
	pthread_t t;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &attr);
	if (pthread_create(&t, NULL, die_holding, NULL) != 0)
		return;
	pthread_join(t, NULL);
	t_eq("robust_owner_died", pthread_mutex_lock(&robust), EOWNERDEAD);
	t_eq("robust_consistent", pthread_mutex_consistent(&robust), 0);
	t_eq("robust_unlock", pthread_mutex_unlock(&robust), 0);
	t_eq("robust_relock", pthread_mutex_lock(&robust), 0);
	pthread_mutex_unlock(&robust);
}

static int pipe_fds[2];

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(20000);
	write(pipe_fds[1], "late", 4);
	close(pipe_fds[1]);
	return NULL;
}

// A blocking read of an empty pipe waits for another thread's write, then
// sees end of file when the writer closes.
static void blocking_pipe(void)
{
	char buf[8] = {0};
	pthread_t t;

	if (pipe(pipe_fds) != 0 || pthread_create(&t, NULL, late_writer, NULL) != 0)
		return;
	t_eq("pipe_read_waits_for_writer", read(pipe_fds[0], buf, sizeof buf), 4);
	t_check("pipe_read_data", memcmp(buf, "late", 4) == 0, "got %.4s", buf);
	t_eq("pipe_read_eof_after_close", read(pipe_fds[0], buf, sizeof buf), 0);
	pthread_join(t, NULL);
	close(pipe_fds[0]);
}

// poll and select with a long timeout wake when another thread makes the
// pipe ready, not when the timeout ends.
static void poll_wakes_on_readiness(void)
{
	struct pollfd pfd;
	struct timeval long_wait = {30, 0};
	fd_set rd;
	char buf[8];
	pthread_t t;

	if (pipe(pipe_fds) != 0 || pthread_create(&t, NULL, late_writer, NULL) != 0)
		return;
	pfd = (struct pollfd){.fd = pipe_fds[0], .events = POLLIN};
	t_eq("poll_wakes_on_write", poll(&pfd, 1, 30000), 1);
	// The writer may have closed too: POLLHUP may come with it.
	t_check("poll_wakes_readable", pfd.revents & POLLIN, "revents %#x", pfd.revents);
	t_eq("poll_wakes_read", read(pipe_fds[0], buf, sizeof buf), 4);
	FD_ZERO(&rd);
	FD_SET(pipe_fds[0], &rd);
	t_eq("select_wakes_on_close", select(pipe_fds[0] + 1, &rd, NULL, NULL, &long_wait), 1);
	pthread_join(t, NULL);
	close(pipe_fds[0]);
}

static volatile int stop_spinning;
static volatile long spins;

static void *spinner(void *arg)
{
	(void)arg;
	while (!stop_spinning)
		spins++;
	return NULL;
}

// A thread that computes without a system call is preempted: the sleeper
// wakes on time and stops it.
static void preemption(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, spinner, NULL) != 0)
		return;
	// On a loaded host the new thread may not run within a few ms, so
	// natively too it could be stopped before it started: wait (10 s at
	// most) until it has.
	for (int i = 0; i < 1000 && spins == 0; i++)
		usleep(10000);
	usleep(30000);
	stop_spinning = 1;
	t_eq("spinner_preempted_and_joined", pthread_join(t, NULL), 0);
	t_check("spinner_ran", spins > 0, "never ran");
}

// A thread recurses until its stack runs into glibc's guard page; the
// SIGSEGV is delivered on the thread's alternate stack (the overflowed
// one has no room) and the handler jumps back out: how SBCL survives
// control stack exhaustion.
static __thread sigjmp_buf overflow_return;
static __thread uintptr_t overflow_handler_sp;

static void on_overflow(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	overflow_handler_sp = (uintptr_t)__builtin_frame_address(0);
	siglongjmp(overflow_return, 1);
}

static long __attribute__((noinline)) recurse(volatile char *prev, long depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	frame[511] = prev ? prev[0] : 0;
	if (depth > (1L << 40)) // never: the stack ends long before
		return 0;
	return recurse(frame, depth + 1) + frame[511];
}

static void *overflow_thread(void *arg)
{
	static char alt[64 * 1024];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
	struct sigaction sa = {.sa_sigaction = on_overflow, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	long recovered = 0;

	(void)arg;
	sigaltstack(&ss, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(overflow_return, 1) == 0)
		recurse(NULL, 0);
	else
		recovered = overflow_handler_sp >= (uintptr_t)alt &&
			    overflow_handler_sp < (uintptr_t)alt + sizeof(alt);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	return (void *)recovered;
}

static void stack_overflow_on_altstack(void)
{
	pthread_attr_t attr;
	pthread_t t;
	void *recovered = NULL;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	t_eq("overflow_thread_create", pthread_create(&t, &attr, overflow_thread, NULL), 0);
	pthread_join(t, &recovered);
	t_check("overflow_caught_on_altstack", recovered != NULL, "handler not on altstack");
	signal(SIGSEGV, SIG_DFL);
	pthread_attr_destroy(&attr);
}

// Two threads pass a ball with tgkill: each waits in sigwaitinfo for
// SIGUSR2 and sends it to the other.
#define PING_ROUNDS 500
static pid_t pong_tid;
static volatile pid_t ping_tid;

static void *pong(void *arg)
{
	sigset_t set;
	long hits = 0;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pong_tid = gettid();
	for (int i = 0; i < PING_ROUNDS; i++) {
		if (sigwaitinfo(&set, NULL) != SIGUSR2)
			break;
		hits++;
		syscall(SYS_tgkill, getpid(), ping_tid, SIGUSR2);
	}
	return (void *)hits;
}

static void tgkill_ping_pong(void)
{
	sigset_t set, old;
	pthread_t t;
	void *pong_hits = NULL;
	long hits = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, &old); // the new thread inherits it
	ping_tid = gettid();
	pong_tid = 0;
	t_eq("pingpong_create", pthread_create(&t, NULL, pong, NULL), 0);
	while (__atomic_load_n(&pong_tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (int i = 0; i < PING_ROUNDS; i++) {
		syscall(SYS_tgkill, getpid(), pong_tid, SIGUSR2);
		if (sigwaitinfo(&set, NULL) != SIGUSR2)
			break;
		hits++;
	}
	pthread_join(t, &pong_hits);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	t_eq("pingpong_ping_hits", hits, PING_ROUNDS);
	t_eq("pingpong_pong_hits", (long)pong_hits, PING_ROUNDS);
}

// Flag combinations Linux refuses before it makes anything.
static void clone_bad_flags(void)
{
	t_err("clone_thread_without_sighand",
	      syscall(SYS_clone, CLONE_VM | CLONE_THREAD, 0, NULL, NULL, 0), EINVAL);
	t_err("clone_sighand_without_vm",
	      syscall(SYS_clone, CLONE_SIGHAND | CLONE_THREAD, 0, NULL, NULL, 0), EINVAL);
	t_err("clone3_too_small", syscall(SYS_clone3, &(struct clone_args){0}, 8), EINVAL);
	t_err("clone3_thread_with_exit_signal",
	      syscall(SYS_clone3,
		      &(struct clone_args){.flags = CLONE_VM | CLONE_FS | CLONE_FILES |
						    CLONE_SIGHAND | CLONE_THREAD,
					   .exit_signal = SIGCHLD},
		      sizeof(struct clone_args)),
	      EINVAL);
}

void group_threads(void)
{
	clone_bad_flags();
	stack_overflow_on_altstack();
	tgkill_ping_pong();
	preemption();
	blocking_pipe();
	poll_wakes_on_readiness();
	stress();
	signal_to_blocked_thread();
	robust_mutex();
}
