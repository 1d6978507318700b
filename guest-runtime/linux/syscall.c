/* SPDX-License-Identifier: MIT */
#include "linux/syscall.h"

#include <asm/unistd_64.h>
#include <errno.h>
#include <stddef.h>

#include "kernel/printk.h"
#include "linux/process.h"
#include "linux/signal_frame.h"
#include "linux/strace.h"
#include "linux/syscall_table.h"

#define SYSCALL_COUNT 512

#define DECLARE_HANDLER(nr, name)                                                                  \
	int64_t sys_##name(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
SYSCALL_LIST(DECLARE_HANDLER)

#define TABLE_ENTRY(nr, name) [nr] = sys_##name,
static const syscall_fn table[SYSCALL_COUNT] = {SYSCALL_LIST(TABLE_ENTRY)};

static int trace;
/* Unimplemented calls are named once each in the log. */
static uint64_t reported_missing[SYSCALL_COUNT / 64];

void syscall_set_trace(int on)
{
	trace = on;
}

static int64_t missing(uint64_t nr)
{
	if (nr < SYSCALL_COUNT && !(reported_missing[nr / 64] & (1ull << (nr % 64)))) {
		reported_missing[nr / 64] |= 1ull << (nr % 64);
		printk("lispvm: system call %s (%lu) is not implemented (ENOSYS)\n",
		       syscall_name(nr) ? syscall_name(nr) : "?", nr);
	}
	return -ENOSYS;
}

struct trap_frame *syscall_frame(void)
{
	return current_thread()->frame;
}

void syscall_dispatch(struct trap_frame *f)
{
	uint64_t nr = f->gpr[LISPVM_GPR_RAX];
	uint64_t a0 = f->gpr[LISPVM_GPR_RDI], a1 = f->gpr[LISPVM_GPR_RSI],
		 a2 = f->gpr[LISPVM_GPR_RDX], a3 = f->gpr[LISPVM_GPR_R10],
		 a4 = f->gpr[LISPVM_GPR_R8], a5 = f->gpr[LISPVM_GPR_R9];
	syscall_fn fn = nr < SYSCALL_COUNT ? table[nr] : NULL;
	uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
	int64_t ret;

	current_thread()->frame = f;
	if (trace && (nr == __NR_exit || nr == __NR_exit_group))
		strace_print(nr, args, 0, 0);
	ret = fn ? fn(a0, a1, a2, a3, a4, a5) : missing(nr);
	if (trace)
		strace_print(nr, args, ret, 1);
	f->gpr[LISPVM_GPR_RAX] = (uint64_t)ret;
	if (current_thread()->pending || current_thread()->has_saved_sigmask || ret == -ERESTARTSYS)
		signal_deliver_pending(f, (int64_t)nr);
}
