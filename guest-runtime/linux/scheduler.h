/* SPDX-License-Identifier: MIT */
/*
 * Threads of the one process, scheduled cooperatively on the one vCPU: a
 * thread runs until it blocks in the kernel (futex, sleep), yields or
 * exits.  There is no timer interrupt yet, so a thread computing in ring
 * 3 is not preempted; the LAPIC timer (next step) makes it preemptive.
 */
#ifndef GUEST_LINUX_SCHEDULER_H
#define GUEST_LINUX_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

struct thread;
struct trap_frame;

#define NO_DEADLINE UINT64_MAX

/* Adds the program's first thread. */
void sched_start(struct thread *t);

/* A new thread that resumes the program with frame's registers (RAX 0,
 * the given stack and TLS): clone.  Returns it, or NULL. */
struct thread *sched_spawn(const struct trap_frame *frame, uint64_t stack, uint64_t tls,
			   bool set_tls);

/* Blocks the calling thread until woken or until CLOCK_MONOTONIC reaches
 * deadline; returns the wake's result, or -ETIMEDOUT. */
int64_t sched_block(uint64_t deadline);

/* Blocks until sched_wake_all(chan) (0) or a signal (-EINTR): the wait
 * of a pipe for data or room. */
int64_t sched_wait_on(const void *chan);

/* As sched_wait_on, ending at deadline too (-ETIMEDOUT). */
int64_t sched_wait_on_until(const void *chan, uint64_t deadline);

/* The channel poll and select wait on.  A file whose readiness changed
 * wakes it with sched_wake_all; one channel serves every file, since few
 * threads poll and a spurious wake only costs them a rescan. */
extern const char sched_poll_chan;

/* Wakes every thread waiting on chan. */
void sched_wake_all(const void *chan);

/* Makes a blocked t runnable; its sched_block returns result. */
void sched_wake(struct thread *t, int64_t result);

/* The timer interrupted the program (frame): another runnable thread
 * gets the CPU, then this one takes any signal pending for it. */
void sched_tick(struct trap_frame *frame);

/* Lets another runnable thread run. */
void sched_yield_now(void);

/* Ends the calling thread; the last one ends the process with status. */
_Noreturn void sched_exit_thread(int status);

/* Every thread, for futex wait queues and signals: the first, then next. */
struct thread *sched_threads(void);

/* The thread of this tid, or NULL. */
struct thread *sched_find(int tid);

#endif
