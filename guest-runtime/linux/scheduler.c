/* SPDX-License-Identifier: MIT */
#include "linux/scheduler.h"

#include <errno.h>
#include <linux/signal.h>
#include <string.h>

#include "arch/x86/trap.h"
#include "drivers/virtio_console.h"
#include "drivers/virtio_vsock.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "kernel/lapic_timer.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "linux/itimer.h"
#include "linux/posix_timer.h"
#include "linux/process.h"
#include "linux/signal_frame.h"

#define FXSAVE_SIZE	  512
#define SWITCH_SAVED_REGS 6 /* rbp, rbx, r12-r15: see switch.S */

void switch_stacks(uint64_t *save_rsp, uint64_t new_rsp);
void thread_first_run(void);

static struct thread *threads;
static int next_tid;

struct thread *sched_threads(void)
{
	return threads;
}

struct thread *sched_find(int tid)
{
	for (struct thread *t = threads; t; t = t->next)
		if (t->tid == tid && t->state != THREAD_DEAD)
			return t;
	return NULL;
}

static void fpu_save(void *area)
{
	__asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
}

static void fpu_load(const void *area)
{
	__asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
}

void sched_start(struct thread *t)
{
	t->state = THREAD_RUNNING;
	t->fpu = kzalloc(FXSAVE_SIZE);
	if (t->fpu == NULL)
		panic("out of memory for the first thread");
	threads = t;
	next_tid = t->tid + 1;
}

/* A thread that has exited, for its kernel stack and FPU area: its stack
 * is not in use once another thread runs, which is when spawn is called. */
static struct thread *recycle_dead(struct thread *cur)
{
	for (struct thread *t = threads; t; t = t->next) {
		if (t->state == THREAD_DEAD && t != cur) {
			uint64_t top = t->kstack_top;
			void *fpu = t->fpu;
			struct thread *next = t->next;

			memset(t, 0, sizeof(*t));
			t->kstack_top = top;
			t->fpu = fpu;
			t->next = next;
			t->proc = cur->proc;
			t->altstack.ss_flags = SS_DISABLE;
			return t;
		}
	}
	return NULL;
}

static struct thread *new_thread(struct thread *cur)
{
	struct thread *t = thread_create(cur->proc, next_tid), **tail = &threads;

	if (t == NULL)
		return NULL;
	t->fpu = kzalloc(FXSAVE_SIZE);
	if (t->fpu == NULL)
		return NULL; /* the thread's stack stays: out of memory anyway */
	while (*tail)
		tail = &(*tail)->next;
	*tail = t;
	return t;
}

struct thread *sched_spawn(const struct trap_frame *frame, uint64_t stack, uint64_t tls,
			   bool set_tls)
{
	struct thread *cur = current_thread(), *t = recycle_dead(cur);
	struct trap_frame *child;
	uint64_t *sp;

	if (t == NULL && (t = new_thread(cur)) == NULL)
		return NULL;
	t->tid = next_tid++;
	fpu_save(t->fpu); /* a new thread starts with its parent's FPU state */
	child = (struct trap_frame *)t->kstack_top - 1;
	*child = *frame;
	child->gpr[LISPVM_GPR_RAX] = 0;
	if (stack)
		child->rsp = stack;
	t->fs_base = set_tls ? tls : cur->fs_base;
	t->sigmask = cur->sigmask;
	memcpy(t->comm, cur->comm, sizeof(t->comm));
	/* The first switch to it "returns" into thread_first_run. */
	sp = (uint64_t *)child;
	*--sp = (uint64_t)thread_first_run;
	for (int i = 0; i < SWITCH_SAVED_REGS; i++)
		*--sp = 0;
	t->ksp = (uint64_t)sp;
	t->state = THREAD_RUNNABLE;
	return t;
}

static void wake_expired(void)
{
	uint64_t now = clock_monotonic_ns();

	itimers_check(now);
	posix_timers_check(now);
	for (struct thread *t = threads; t; t = t->next)
		if (t->state == THREAD_BLOCKED && t->deadline <= now)
			sched_wake(t, -ETIMEDOUT);
}

/* Round robin: the next runnable thread after cur, cur itself last. */
static struct thread *pick_next(struct thread *cur)
{
	struct thread *t = cur;

	do {
		t = t->next ? t->next : threads;
		if (t->state == THREAD_RUNNABLE)
			return t;
	} while (t != cur);
	return NULL;
}

static uint64_t earliest_deadline(void)
{
	uint64_t d = itimers_next(), timers = posix_timers_next();

	if (timers < d)
		d = timers;

	for (struct thread *t = threads; t; t = t->next)
		if (t->state == THREAD_BLOCKED && t->deadline < d)
			d = t->deadline;
	return d;
}

/* Nothing can run: wait for the first deadline; with none, every thread
 * waits on another forever, which is what Linux would do too. */
static void idle(void)
{
	static bool said;
	uint64_t d = earliest_deadline();

	pmem_trim(); /* an idle VM should cost the host only what it uses */
	if (d == NO_DEADLINE && !said && !lapic_timer_running()) {
		said = true;
		printk("lispvm: %s: every thread waits and nothing can wake one\n",
		       current_process()->exe);
	}
	/* With the timer running, halt until the first deadline (no ticks
	 * while nothing runs: an idle VM costs the host no CPU), a device
	 * or a signal from the host, and let schedule() look again. */
	if (lapic_timer_running()) {
		if (vconsole_awaits_device() || vvsock_live()) {
			uint64_t recheck = clock_monotonic_ns() + VCONSOLE_RECHECK_NS;

			d = recheck < d ? recheck : d;
		}
		lapic_timer_sleep_until(d);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		lapic_timer_resume();
		vconsole_recheck();
		vvsock_recheck();
		return;
	}
	clock_wait_until(d);
}

static void schedule(void)
{
	struct thread *cur = current_thread(), *next;

	for (;;) {
		wake_expired();
		next = pick_next(cur);
		if (next != NULL)
			break;
		idle();
	}
	next->state = THREAD_RUNNING;
	if (next == cur)
		return;
	fpu_save(cur->fpu);
	thread_switch_to(next);
	fpu_load(next->fpu);
	switch_stacks(&cur->ksp, next->ksp);
}

int64_t sched_block(uint64_t deadline)
{
	struct thread *cur = current_thread();

	cur->state = THREAD_BLOCKED;
	cur->deadline = deadline;
	cur->wake_result = 0;
	schedule();
	return cur->wake_result;
}

const char sched_poll_chan;

int64_t sched_wait_on_until(const void *chan, uint64_t deadline)
{
	struct thread *cur = current_thread();
	int64_t rc;

	cur->wait_chan = chan;
	rc = sched_block(deadline);
	cur->wait_chan = NULL;
	return rc;
}

int64_t sched_wait_on(const void *chan)
{
	return sched_wait_on_until(chan, NO_DEADLINE);
}

void sched_wake_all(const void *chan)
{
	for (struct thread *t = threads; t; t = t->next)
		if (t->state == THREAD_BLOCKED && t->wait_chan == chan)
			sched_wake(t, 0);
}

void sched_wake(struct thread *t, int64_t result)
{
	if (t->state != THREAD_BLOCKED)
		return;
	t->state = THREAD_RUNNABLE;
	t->wake_result = result;
}

void sched_tick(struct trap_frame *frame)
{
	struct thread *cur = current_thread();

	/* Only a program can be interrupted: the kernel runs with interrupts
	 * off. */
	if (cur == NULL || (frame->cs & 3) != 3)
		return;
	sched_yield_now(); /* checks the interval timers too */
	if (cur->pending)
		signal_deliver_pending(frame, NOT_A_SYSCALL);
}

void sched_yield_now(void)
{
	current_thread()->state = THREAD_RUNNABLE;
	schedule();
}

_Noreturn void sched_exit_thread(int status)
{
	struct thread *cur = current_thread();
	bool others = false;

	cur->state = THREAD_DEAD;
	for (struct thread *t = threads; t; t = t->next)
		others |= t->state != THREAD_DEAD;
	if (!others)
		process_exit(status);
	/* Its kernel stack is the one running: the next spawn reuses it. */
	schedule();
	panic("a dead thread was scheduled");
}
