/* SPDX-License-Identifier: MIT */
/*
 * The little of a kernel that guest-runtime code compiled for the host
 * needs (fuzz_guest_kernel.c, built with the host's headers): kmalloc and
 * kfree on the host's (ASan's) heap, pages for the tmpfs, a clock,
 * printk that prints only with
 * FUZZ_VERBOSE, panic that returns to the harness, and the %gs base the
 * guest's this_cpu() reads.  Only plain types cross, so guest-side
 * harnesses include this with the guest's headers.
 */
#ifndef LISPVM_FUZZ_GUEST_KERNEL_H
#define LISPVM_FUZZ_GUEST_KERNEL_H

/* Runs fn(arg): 0, or -1 when it called panic() (which returns here). */
int fuzz_guest_try(void (*fn)(void *), void *arg);

/* Points %gs at percpu, so that this_cpu() (mov %gs:0) finds it: its
 * first word must be its own address. */
void fuzz_guest_set_gs(void *percpu);

#endif
