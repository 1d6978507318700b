/* SPDX-License-Identifier: MIT */
/*
 * Signals delivered to a handler in the program: Linux's x86-64 signal
 * frame (return address, ucontext with the registers and the FXSAVE image,
 * siginfo) built on the program's stack or its alternate stack, and taken
 * down again by rt_sigreturn.
 */
#ifndef GUEST_LINUX_SIGNAL_FRAME_H
#define GUEST_LINUX_SIGNAL_FRAME_H

#include <asm/siginfo.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/trap.h"

struct thread;

/* A signal the CPU raised in the program (a fault).  If the program
 * handles sig and does not block it, frame now enters the handler and the
 * result is 0; otherwise the caller ends the program (-1), as Linux does
 * for a fault it cannot deliver. */
int signal_deliver_fault(struct trap_frame *frame, int sig, int code, uint64_t addr);

/* Whether sig's action for t is to do nothing (SIG_IGN, or a default
 * that ignores). */
bool signal_is_ignored(const struct thread *t, int sig);

/* On the way back to the program: the first pending signal it does not
 * block gets its action (a handler entered through frame, ignored, or
 * the program terminated).  syscall_nr is the call frame returns from
 * (it may be restarted), or NOT_A_SYSCALL. */
#define NOT_A_SYSCALL (-1)
void signal_deliver_pending(struct trap_frame *frame, int64_t syscall_nr);

/* A signal for the process (timers): one thread that does not block it
 * takes it, woken if it waits. */
void signal_send_process(int sig, int code);

/* ppoll's and pselect6's mask (umask, size bytes; none when 0): the
 * calling thread waits with it, and gets its own mask back on the way
 * out, after a handler if one runs (as rt_sigsuspend does).  0 or -errno. */
int signal_mask_for_wait(uint64_t umask, uint64_t size);

/* Whether the calling thread has a pending signal it does not block. */
bool signal_wanted_pending(void);

/* Sends info's signal to target, or to the process when target is NULL;
 * false when it was already pending there (it does not queue twice). */
bool signal_send_info(struct thread *target, const siginfo_t *info);

/* The VMM's interrupt: the signals sent to lispvm (Ctrl-C, kill) go to
 * the program; taken at once if frame is the program's. */
void signal_take_host_signals(struct trap_frame *frame);

/* Tells the VMM that signals sent to lispvm may come as interrupts. */
void signal_accept_host_signals(void);

#endif
