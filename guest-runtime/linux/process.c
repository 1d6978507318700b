/* SPDX-License-Identifier: MIT */
#include "linux/process.h"

#include <asm/signal.h>
#include <linux/signal.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_features.h"
#include "fs/console.h"
#include "kernel/clock.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/paging.h"
#include "kernel/platform.h"
#include "kernel/pmem.h"
#include "linux/fd.h"
#include "kernel/printk.h"

/* The exit status lispvm reports for a wait status, as a shell would:
 * the exit code, or 128 + the signal. */
static int shell_status(int wait_status)
{
	return (wait_status & 0x7f) ? 128 + (wait_status & 0x7f) : (wait_status >> 8) & 0xff;
}

_Noreturn void process_exit(int status)
{
	platform_exit(shell_status(status));
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGTRAP:
		return "SIGTRAP";
	case SIGFPE:
		return "SIGFPE";
	default:
		return "a signal";
	}
}

_Noreturn void process_kill_by_fault(int sig, const char *what, uint64_t addr, uint64_t rip)
{
	printk("lispvm: %s killed by %s: %s at 0x%lx (rip 0x%lx)\n", current_process()->exe,
	       signal_name(sig), what, addr, rip);
	process_exit(sig);
}

_Noreturn void process_kill_out_of_memory(uint64_t addr, uint64_t rip)
{
	printk("lispvm: %s killed by SIGKILL: out of memory, guest RAM (--memory) is full"
	       " (a page at 0x%lx, rip 0x%lx)\n",
	       current_process()->exe, addr, rip);
	process_exit(SIGKILL);
}

static void write_fs_base(uint64_t base)
{
	if (cpu_features.fsgsbase)
		__asm__ volatile("wrfsbase %0" ::"r"(base));
	else
		wrmsr(MSR_FS_BASE, base);
}

void thread_switch_to(struct thread *t)
{
	struct percpu *cpu = this_cpu();

	cpu->current = t;
	cpu->kernel_rsp = t->kstack_top;
	tss_set_kernel_stack(&cpu->desc.tss, t->kstack_top);
	write_fs_base(t->fs_base);
}

static const struct rlimit64 default_rlimits[RLIM_NLIMITS] = {
	[RLIMIT_CPU] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_FSIZE] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_DATA] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_STACK] = {8ull << 20, RLIM_INFINITY},
	[RLIMIT_CORE] = {0, RLIM_INFINITY},
	[RLIMIT_RSS] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_NPROC] = {4096, 4096},
	[RLIMIT_NOFILE] = {FD_TABLE_SIZE, FD_TABLE_SIZE},
	[RLIMIT_MEMLOCK] = {8ull << 20, 8ull << 20},
	[RLIMIT_AS] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_LOCKS] = {RLIM_INFINITY, RLIM_INFINITY},
	[RLIMIT_SIGPENDING] = {4096, 4096},
	[RLIMIT_MSGQUEUE] = {819200, 819200},
	[RLIMIT_NICE] = {0, 0},
	[RLIMIT_RTPRIO] = {0, 0},
	[RLIMIT_RTTIME] = {RLIM_INFINITY, RLIM_INFINITY},
};

static struct process the_process;

struct process *process_create(const char *exe)
{
	struct process *p = &the_process;

	memset(p, 0, sizeof(*p));
	p->pid = 1;
	mm_init(&p->mm, paging_kernel_pml4());
	memcpy(p->rlimits, default_rlimits, sizeof(default_rlimits));
	p->cwd[0] = '/';
	p->umask = 022;
	memcpy(p->exe, exe, strnlen(exe, sizeof(p->exe) - 1));
	return p;
}

struct thread *thread_create(struct process *p, int tid)
{
	struct thread *t = kzalloc(sizeof(*t));
	uint64_t stack;

	if (t == NULL)
		return NULL;
	stack = pmem_alloc_pages(THREAD_STACK_SIZE / PAGE_SIZE);
	if (stack == 0) {
		kfree(t);
		return NULL;
	}
	t->tid = tid;
	t->proc = p;
	t->kstack_top = (uint64_t)phys_to_virt(stack) + THREAD_STACK_SIZE;
	t->altstack.ss_flags = SS_DISABLE;
	return t;
}

int process_open_stdio(struct process *p)
{
	(void)p;
	for (int fd = 0; fd < 3; fd++) {
		struct file *f = console_open(fd);

		if (f == NULL || fd_install_at(f, fd, false) < 0)
			return -ENOMEM;
	}
	return 0;
}

uint64_t process_start_realtime_ns(void)
{
	return clock_realtime_ns() - (clock_monotonic_ns() - current_process()->start_ns);
}
