// SPDX-License-Identifier: MIT
// Signals from CPU faults delivered to handlers, as SBCL relies on them: a
// SIGSEGV handler that maps the page and returns, SIGILL and SIGFPE
// handlers that move RIP past the faulting instruction in the ucontext, an
// SSE exception fixed by editing MXCSR in the saved FPU state, SIGTRAP from
// int3, the alternate stack, the mask while a handler runs, SA_RESETHAND.
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int hits;
static volatile int last_code;
static volatile uintptr_t last_addr;
static volatile uintptr_t handler_stack;
static volatile int blocked_inside;

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = {0};

	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void restore_default(int sig)
{
	signal(sig, SIG_DFL);
}

static void map_on_fault(int sig, siginfo_t *si, void *uc)
{
	sigset_t now;
	int local;

	(void)sig;
	(void)uc;
	hits++;
	last_code = si->si_code;
	last_addr = (uintptr_t)si->si_addr;
	handler_stack = (uintptr_t)&local;
	sigprocmask(SIG_BLOCK, NULL, &now);
	blocked_inside = sigismember(&now, SIGSEGV);
	mprotect((void *)((uintptr_t)si->si_addr & ~(uintptr_t)(PG - 1)), PG,
		 PROT_READ | PROT_WRITE);
}

static void segv_handler_maps_page(void)
{
	volatile char *p = t_map_none(PG);
	sigset_t now;

	if (p == NULL)
		return;
	hits = 0;
	install(SIGSEGV, map_on_fault, 0);
	p[10] = 42; // faults once; the handler makes it writable
	t_eq("segv_handled_once", hits, 1);
	t_eq("segv_code_accerr", last_code, SEGV_ACCERR);
	t_check("segv_addr", last_addr == (uintptr_t)(p + 10), "si_addr off by %ld",
		(long)(last_addr - (uintptr_t)(p + 10)));
	t_check("segv_write_landed", p[10] == 42, "byte %d", p[10]);
	t_check("segv_blocked_inside_handler", blocked_inside == 1, "not blocked");
	sigprocmask(SIG_BLOCK, NULL, &now);
	t_check("segv_unblocked_after", !sigismember(&now, SIGSEGV), "still blocked");
	restore_default(SIGSEGV);
	munmap((void *)p, PG);
}

static void skip_bytes(void *ucv, int n)
{
	ucontext_t *uc = ucv;

	uc->uc_mcontext.gregs[REG_RIP] += n;
}

static void skip_ud2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	hits++;
	last_code = si->si_code;
	last_addr = (uintptr_t)si->si_addr;
	skip_bytes(uc, 2);
}

static void sigill_skips_ud2(void)
{
	uintptr_t at;

	hits = 0;
	install(SIGILL, skip_ud2, 0);
	__asm__ volatile("lea 0f(%%rip), %0\n0: ud2" : "=r"(at));
	t_eq("sigill_handled", hits, 1);
	t_eq("sigill_code", last_code, ILL_ILLOPN);
	t_check("sigill_addr_is_rip", last_addr == at, "si_addr %#lx rip %#lx",
		(unsigned long)last_addr, (unsigned long)at);
	restore_default(SIGILL);
}

static void count_trap(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	(void)sig;
	(void)si;
	hits++;
	last_addr = (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
}

static void sigtrap_int3(void)
{
	uintptr_t after;

	hits = 0;
	install(SIGTRAP, count_trap, 0);
	__asm__ volatile("int3\n lea 0(%%rip), %0" : "=r"(after));
	t_eq("sigtrap_handled", hits, 1);
	// RIP in the ucontext is after the int3 (the lea follows it).
	t_check("sigtrap_rip_after_int3", last_addr == after - 7, "rip %#lx, lea at %#lx",
		(unsigned long)last_addr, (unsigned long)(after - 7));
	restore_default(SIGTRAP);
}

static void skip_div(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	hits++;
	last_code = si->si_code;
	skip_bytes(uc, 3); // div %rcx: 48 f7 f1
}

static void sigfpe_integer_divide(void)
{
	uint64_t rax = 1, rdx = 0, zero = 0;

	hits = 0;
	install(SIGFPE, skip_div, 0);
	__asm__ volatile("div %%rcx" : "+a"(rax), "+d"(rdx) : "c"(zero));
	t_eq("sigfpe_intdiv_handled", hits, 1);
	t_eq("sigfpe_intdiv_code", last_code, FPE_INTDIV);
	restore_default(SIGFPE);
}

// The SSE divide-by-zero exception, unmasked: the handler masks it again
// in the saved MXCSR and clears the flag, so the retried divide gives inf.
static void mask_zero_divide(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	hits++;
	last_code = si->si_code;
	uc->uc_mcontext.fpregs->mxcsr |= 1u << 9;
	uc->uc_mcontext.fpregs->mxcsr &= ~(1u << 2);
}

static void sigfpe_sse_mxcsr(void)
{
	double num = 1.0, den = 0.0;
	unsigned int mxcsr, saved;

	hits = 0;
	install(SIGFPE, mask_zero_divide, 0);
	__asm__ volatile("stmxcsr %0" : "=m"(saved));
	mxcsr = saved & ~(1u << 9); // unmask divide-by-zero
	__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
	__asm__ volatile("divsd %1, %0" : "+x"(num) : "x"(den));
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("ldmxcsr %0" ::"m"(saved));
	t_eq("sigfpe_sse_handled_once", hits, 1);
	t_eq("sigfpe_sse_code", last_code, FPE_FLTDIV);
	t_check("sigfpe_sse_result_inf", num > 1e308, "got %g", num);
	t_check("sigfpe_sse_mxcsr_from_handler", mxcsr & (1u << 9), "mxcsr %#x", mxcsr);
	restore_default(SIGFPE);
}

static void altstack_delivery(void)
{
	size_t size = 64 * 1024;
	char *alt = malloc(size);
	stack_t ss = {.ss_sp = alt, .ss_size = size};
	volatile char *p = t_map_none(PG);

	if (alt == NULL || p == NULL)
		return;
	sigaltstack(&ss, NULL);
	install(SIGSEGV, map_on_fault, SA_ONSTACK);
	handler_stack = 0;
	p[0] = 1;
	t_check("altstack_used",
		handler_stack >= (uintptr_t)alt && handler_stack < (uintptr_t)alt + size,
		"handler stack outside");
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	restore_default(SIGSEGV);
	munmap((void *)p, PG);
	free(alt);
}

static void resethand(void)
{
	volatile char *p = t_map_none(PG);
	struct sigaction now;

	if (p == NULL)
		return;
	install(SIGSEGV, map_on_fault, SA_RESETHAND);
	p[0] = 1;
	sigaction(SIGSEGV, NULL, &now);
	t_check("resethand_back_to_default", now.sa_handler == SIG_DFL, "handler kept");
	munmap((void *)p, PG);
}

void group_signals(void)
{
	segv_handler_maps_page();
	sigill_skips_ud2();
	sigtrap_int3();
	sigfpe_integer_divide();
	sigfpe_sse_mxcsr();
	altstack_delivery();
	resethand();
	group_sent_signals();
	group_timers();
}

// rt_sigreturn with a forged frame whose RIP is not a user address: the
// process dies of SIGSEGV (the kernel does not crash).
int forged_sigreturn(void)
{
	uint64_t frame[64] = {0};

	printf("forged-sigreturn: calling rt_sigreturn\n");
	fflush(stdout);
	// ucontext starts at frame+8 bytes: after flags, link, stack (24),
	// the sigcontext; rip is its 17th word.
	frame[1 + 1 + 1 + 3 + 16] = 0x8000000000000000ull;
	__asm__ volatile("mov %0, %%rsp\n mov %1, %%eax\n syscall" ::"r"(frame + 1),
			 "i"(SYS_rt_sigreturn)
			 : "memory");
	printf("forged-sigreturn: survived\n");
	return 1;
}

// A handler that names a code or stack segment the program does not
// have: rt_sigreturn cannot return there and the process dies of SIGSEGV
// (natively the return's IRET faults).  Which selector is spoiled comes
// from the command: cs, or ss (the frame says UC_STRICT_RESTORE_SS).
static int spoiled_selector_shift;

static void spoil_selector(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_CSGSFS] &= ~(0xffffll << spoiled_selector_shift);
}

int sigreturn_bad_selector(const char *which)
{
	spoiled_selector_shift = strcmp(which, "ss") == 0 ? 48 : 0;
	install(SIGUSR1, spoil_selector, 0);
	printf("sigreturn-bad-%s: raising\n", which);
	fflush(stdout);
	raise(SIGUSR1);
	printf("sigreturn-bad-%s: survived\n", which);
	return 1;
}

static volatile int usr1_hits, usr1_code;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr1_hits++;
	usr1_code = si->si_code;
}

// Signals sent with kill/tgkill/raise reach the handler before the call
// returns; blocked ones wait in the pending set until unblocked; ignored
// ones and those whose default is to ignore do nothing.
void group_sent_signals(void)
{
	sigset_t set, pending;

	install(SIGUSR1, on_usr1, 0);
	usr1_hits = 0;
	t_eq("kill_self", kill(getpid(), SIGUSR1), 0);
	t_eq("kill_handled_before_return", usr1_hits, 1);
	t_eq("kill_code_si_user", usr1_code, SI_USER);
	t_eq("raise", raise(SIGUSR1), 0);
	t_eq("raise_handled", usr1_hits, 2);
	t_eq("raise_code_si_tkill", usr1_code, SI_TKILL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1); // standard signals do not queue twice
	t_eq("blocked_not_delivered", usr1_hits, 2);
	sigpending(&pending);
	t_check("blocked_is_pending", sigismember(&pending, SIGUSR1), "not pending");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	t_eq("delivered_on_unblock_once", usr1_hits, 3);
	sigpending(&pending);
	t_check("pending_cleared", !sigismember(&pending, SIGUSR1), "still pending");
	signal(SIGUSR1, SIG_IGN);
	t_eq("kill_ignored", kill(getpid(), SIGUSR1), 0);
	signal(SIGUSR1, SIG_DFL);
	t_eq("kill_sigchld_default_ignored", kill(getpid(), SIGCHLD), 0);
	t_eq("kill_signal_zero", kill(getpid(), 0), 0);
	t_err("kill_bad_signal", kill(getpid(), 65), EINVAL);
	t_err("kill_negative_signal", kill(getpid(), -1), EINVAL);
	t_err("tgkill_bad_signal", syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
	t_err("sigaction_signal_0", sigaction(0, NULL, NULL), EINVAL);
	t_err("sigaction_signal_65", sigaction(65, NULL, NULL), EINVAL);
	t_err("sigaction_sigkill",
	      sigaction(SIGKILL, &(struct sigaction){.sa_handler = SIG_IGN}, NULL), EINVAL);
	t_err("sigaction_sigstop_handler",
	      sigaction(SIGSTOP, &(struct sigaction){.sa_handler = SIG_IGN}, NULL), EINVAL);
	t_err("rt_sigaction_bad_setsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4),
	      EINVAL);
	t_err("rt_sigprocmask_bad_how",
	      syscall(SYS_rt_sigprocmask, 99, &(uint64_t){0}, NULL, sizeof(uint64_t)), EINVAL);
	t_err("rt_sigprocmask_bad_setsize", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 4),
	      EINVAL);
	t_err("rt_sigpending_bad_setsize", syscall(SYS_rt_sigpending, &(uint64_t){0}, 16), EINVAL);
	t_err("kill_other_pid", kill(999999, SIGUSR1), ESRCH);
	t_err("tgkill_other_tid", syscall(SYS_tgkill, getpid(), 999999, SIGUSR1), ESRCH);
	t_err("tgkill_bad_tgid", syscall(SYS_tgkill, -1, gettid(), SIGUSR1), EINVAL);

	// sigsuspend: a pending blocked signal is let in by the temporary
	// mask, its handler runs, and the old mask (blocking it) comes back.
	install(SIGUSR1, on_usr1, 0);
	usr1_hits = 0;
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	sigemptyset(&pending);
	t_err("sigsuspend", sigsuspend(&pending), EINTR);
	t_eq("sigsuspend_ran_handler", usr1_hits, 1);
	sigprocmask(SIG_BLOCK, NULL, &pending);
	t_check("sigsuspend_restored_mask", sigismember(&pending, SIGUSR1), "mask lost");
	// sigtimedwait takes a pending signal without its handler.
	raise(SIGUSR1);
	t_eq("sigtimedwait_takes_pending", sigtimedwait(&set, NULL, &(struct timespec){0, 0}),
	     SIGUSR1);
	t_eq("sigtimedwait_no_handler", usr1_hits, 1);
	t_err("sigtimedwait_times_out", sigtimedwait(&set, NULL, &(struct timespec){0, 10000000}),
	      EAGAIN);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGUSR1, SIG_DFL);
}

// abort(): SIGABRT's default action ends the process (exit 134 in a shell).
int sent_abort(void)
{
	printf("sent-abort: calling abort\n");
	fflush(stdout);
	abort();
}

// kill -SEGV: the default action ends the process (exit 139 in a shell).
int sent_segv(void)
{
	printf("sent-segv: killing myself\n");
	fflush(stdout);
	kill(getpid(), SIGSEGV);
	return 1;
}

static volatile int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void set_timer(long usec, long interval_usec)
{
	struct itimerval v = {.it_value = {usec / 1000000, usec % 1000000},
			      .it_interval = {interval_usec / 1000000, interval_usec % 1000000}};

	setitimer(ITIMER_REAL, &v, NULL);
}

static int restart_pipe_write_end = -1;

// The third alarm gives the restarted read its byte.
static void on_alarm_feed_pipe(int sig)
{
	(void)sig;
	if (++alarms == 3 && write(restart_pipe_write_end, "r", 1) != 1)
		_exit(99);
}

// SA_RESTART: a pipe read interrupted by handlers starts again each time
// and returns the byte the third handler wrote.
static void check_sa_restart_pipe_read(void)
{
	struct sigaction sa = {0};
	char c = 0;
	long got;
	int p[2];

	if (pipe(p) != 0)
		return;
	restart_pipe_write_end = p[1];
	sa.sa_handler = on_alarm_feed_pipe;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	set_timer(10000, 10000);
	got = read(p[0], &c, 1);
	set_timer(0, 0);
	t_eq("sa_restart_pipe_read", got, 1);
	t_eq("sa_restart_read_byte", c, 'r');
	t_check("sa_restart_handlers_ran", alarms >= 3, "%d alarms", alarms);
	close(p[0]);
	close(p[1]);
}

// A blocked or an ignored signal leaves a sleep alone, as Linux does not
// wake the sleeper; the blocked one pends and runs its handler once
// unblocked.
static void check_unwanted_signal_leaves_sleep(void)
{
	struct timespec sleep_100ms = {0, 100000000};
	sigset_t alrm, old, pend;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	signal(SIGALRM, on_alarm);
	alarms = 0;
	sigprocmask(SIG_BLOCK, &alrm, &old);
	set_timer(20000, 0);
	t_eq("blocked_signal_leaves_sleep", nanosleep(&sleep_100ms, NULL), 0);
	sigpending(&pend);
	t_eq("blocked_signal_pends", sigismember(&pend, SIGALRM), 1);
	t_eq("blocked_signal_waits", alarms, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	t_eq("unblocked_signal_delivered", alarms, 1);
	signal(SIGALRM, SIG_IGN);
	set_timer(20000, 0);
	t_eq("ignored_signal_leaves_sleep", nanosleep(&sleep_100ms, NULL), 0);
}

static volatile int timer_hits, timer_value, timer_code;

static void on_posix_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	timer_hits++;
	timer_value = si->si_value.sival_int;
	timer_code = si->si_code;
}

static volatile int thread_timer_calls;

static void on_thread_timer(union sigval v)
{
	thread_timer_calls += v.sival_int;
}

// timer_create: a repeating SIGEV_SIGNAL timer with its value and
// SI_TIMER, gettime and disarming, SIGEV_NONE counting down, an absolute
// CLOCK_REALTIME expiry, glibc's SIGEV_THREAD, and bad ids and clocks.
static void check_posix_timers(void)
{
	struct sigaction sa = {0};
	struct sigevent ev = {0};
	struct itimerspec every_10ms = {{0, 10000000}, {0, 10000000}}, off = {0}, cur;
	struct timespec now;
	timer_t id, quiet, wall, threaded;

	sa.sa_sigaction = on_posix_timer;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR2;
	ev.sigev_value.sival_int = 1234;
	timer_hits = 0;
	t_eq("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &id), 0);
	t_eq("timer_settime", timer_settime(id, 0, &every_10ms, NULL), 0);
	while (timer_hits < 3)
		pause();
	t_eq("timer_gettime", timer_gettime(id, &cur), 0);
	t_eq("timer_interval_kept", cur.it_interval.tv_nsec, 10000000);
	t_eq("timer_settime_off", timer_settime(id, 0, &off, NULL), 0);
	t_eq("timer_sigval", timer_value, 1234);
	t_eq("timer_si_code", timer_code, SI_TIMER);
	timer_gettime(id, &cur);
	t_eq("timer_disarmed", cur.it_value.tv_sec + cur.it_value.tv_nsec, 0);
	// Missed expiries depend on the machine's load: only the call is checked.
	t_check("timer_getoverrun", timer_getoverrun(id) >= 0, "failed");

	ev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_MONOTONIC, &ev, &quiet);
	timer_settime(quiet, 0, &(struct itimerspec){{0, 0}, {5, 0}}, NULL);
	timer_gettime(quiet, &cur);
	t_check("timer_sigev_none_counts", cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5,
		"%ld s left", (long)cur.it_value.tv_sec);

	ev.sigev_notify = SIGEV_SIGNAL;
	timer_hits = 0;
	timer_create(CLOCK_REALTIME, &ev, &wall);
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 20000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	t_eq("timer_abstime",
	     timer_settime(wall, TIMER_ABSTIME, &(struct itimerspec){{0, 0}, now}, NULL), 0);
	while (timer_hits < 1)
		pause();
	t_eq("timer_abstime_fired", timer_hits, 1);

	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = on_thread_timer;
	ev.sigev_value.sival_int = 1;
	t_eq("timer_sigev_thread", timer_create(CLOCK_MONOTONIC, &ev, &threaded), 0);
	timer_settime(threaded, 0, &every_10ms, NULL);
	for (int i = 0; i < 300 && thread_timer_calls < 3; i++)
		usleep(10000);
	timer_settime(threaded, 0, &off, NULL);
	t_check("timer_sigev_thread_runs", thread_timer_calls >= 3, "%d calls", thread_timer_calls);

	t_eq("timer_delete", timer_delete(id), 0);
	t_err("timer_delete_twice", timer_delete(id), EINVAL);
	t_err("timer_bad_clock", timer_create(99, NULL, &id), EINVAL);
	timer_delete(quiet);
	timer_delete(wall);
	timer_delete(threaded);
	signal(SIGUSR2, SIG_DFL);
}

// ppoll's and pselect's mask: a signal blocked outside the call and
// already pending ends the wait with EINTR, its handler runs, and the
// caller's mask comes back.
static void check_wait_with_mask(void)
{
	struct timespec five_s = {5, 0};
	struct pollfd pfd;
	sigset_t usr1, empty, old, cur;
	fd_set rd;
	int p[2];

	if (pipe(p) != 0)
		return;
	signal(SIGUSR1, on_alarm);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	alarms = 0;
	raise(SIGUSR1);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	t_err("ppoll_mask_lets_signal_in", ppoll(&pfd, 1, &five_s, &empty), EINTR);
	t_eq("ppoll_mask_handler_ran", alarms, 1);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	t_eq("ppoll_mask_restored", sigismember(&cur, SIGUSR1), 1);
	raise(SIGUSR1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	t_err("pselect_mask_lets_signal_in", pselect(p[0] + 1, &rd, NULL, NULL, &five_s, &empty),
	      EINTR);
	t_eq("pselect_mask_handler_ran", alarms, 2);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

// setitimer/alarm: SIGALRM ends a sleep and a blocked pipe read with
// EINTR, reaches a thread computing without system calls, and repeats
// with an interval.
void group_timers(void)
{
	struct timespec long_sleep = {5, 0};
	struct itimerval now;
	struct sigaction sa = {0};
	char c;
	int p[2];

	sa.sa_handler = on_alarm; // no SA_RESTART: interrupted calls fail
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	set_timer(20000, 0);
	t_err("itimer_interrupts_sleep", nanosleep(&long_sleep, NULL), EINTR);
	t_eq("itimer_fired_once", alarms, 1);
	if (pipe(p) == 0) {
		set_timer(20000, 0);
		t_err("itimer_interrupts_pipe_read", read(p[0], &c, 1), EINTR);
		close(p[0]);
		close(p[1]);
	}
	alarms = 0;
	set_timer(10000, 10000);
	for (volatile long i = 0; alarms < 3 && i < 4000000000L; i++)
		;
	set_timer(0, 0);
	t_check("itimer_reaches_busy_thread", alarms >= 3, "%d alarms", alarms);
	set_timer(3000000, 0);
	getitimer(ITIMER_REAL, &now);
	t_check("getitimer_remaining", now.it_value.tv_sec >= 2 && now.it_value.tv_sec <= 3,
		"%ld s left", (long)now.it_value.tv_sec);
	t_eq("alarm_returns_previous", alarm(0), 3);
	t_eq("alarm_none_left", alarm(0), 0);
	check_sa_restart_pipe_read();
	check_unwanted_signal_leaves_sleep();
	check_posix_timers();
	check_wait_with_mask();
	signal(SIGALRM, SIG_DFL);
}
