/* SPDX-License-Identifier: MIT */
#include "arch/x86/trap.h"

#include <asm/siginfo.h>
#include <asm/signal.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/trap_vectors.h"
#include "arch/x86/user_mode.h"
#include "drivers/virtio_console.h"
#include "drivers/virtio_vsock.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/uaccess.h"
#include "kernel/lapic_timer.h"
#include "kernel/percpu.h"
#include "kernel/platform.h"

static void fill_report(const struct trap_frame *f, struct lispvm_fault_report *r)
{
	*r = (struct lispvm_fault_report){
		.vector = f->vector,
		.error_code = f->error_code,
		.rip = f->rip,
		.cs = f->cs,
		.rflags = f->rflags,
		.rsp = f->rsp,
		.ss = f->ss,
		.cr0 = read_cr0(),
		.cr2 = read_cr2(),
		.cr3 = read_cr3(),
		.cr4 = read_cr4(),
	};
	for (int i = 0; i < LISPVM_GPR_COUNT; i++)
		r->gpr[i] = f->gpr[i];
}

#define PF_WRITE	     (1u << 1)
#define PF_INSTRUCTION_FETCH (1u << 4)

void syscall_entry(void);
void syscall_dispatch(struct trap_frame *frame);

/*
 * Under kvm_pvm's emulation of guests that are not PVM-aware (nested
 * hosts with pvm_native=Y), SYSCALL from ring 3 loads RIP, RCX, R11 and
 * RFLAGS as it should but leaves the CPU at CPL 3, so fetching
 * syscall_entry faults as a user access.  The registers are what SYSCALL
 * made of them: finish its job here.  A program that jumps to
 * syscall_entry itself gets nothing it could not get from SYSCALL.
 */
static bool is_stranded_syscall(const struct trap_frame *f)
{
	return f->vector == TRAP_VECTOR_PF && (f->cs & 3) == 3 &&
	       (f->error_code & PF_INSTRUCTION_FETCH) && f->rip == (uint64_t)syscall_entry;
}

static void finish_stranded_syscall(struct trap_frame *f)
{
	/* Nothing is in service when the program runs, so an EOI here is a
	 * no-op, unless the host took an interrupt on this same boundary and
	 * reported only the fault: then the EOI keeps its vector from
	 * blocking every later tick and host signal.  (Suspected; see the
	 * host-signal note in docs/architecture.md.) */
	if (lapic_timer_running())
		lapic_eoi();
	f->rip = f->gpr[LISPVM_GPR_RCX];
	f->rflags = user_rflags_sanitize(f->gpr[LISPVM_GPR_R11]);
	f->vector = TRAP_VECTOR_SYSCALL;
	f->error_code = f->gpr[LISPVM_GPR_RAX];
	syscall_dispatch(f);
}

static unsigned int pf_access(uint64_t error_code)
{
	if (error_code & PF_INSTRUCTION_FETCH)
		return MM_ACCESS_EXEC;
	return (error_code & PF_WRITE) ? MM_ACCESS_WRITE : MM_ACCESS_READ;
}

/* A page fault on a program address, from the program or from the kernel
 * copying to or from it.  True when resolved or redirected. */
static bool handle_user_page_fault(struct trap_frame *f)
{
	uint64_t addr = read_cr2(), fixup;
	enum mm_fault_result r;

	if (addr >= USER_SPACE_END || this_cpu()->current == NULL)
		return false;
	r = mm_fault(&current_process()->mm, addr, pf_access(f->error_code));
	if (r == MM_FAULT_DONE)
		return true;
	/* As Linux's OOM killer would: a handler could not run without
	 * memory either, and the page may never be found. */
	if ((f->cs & 3) == 3 && r == MM_FAULT_NO_MEMORY)
		process_kill_out_of_memory(addr, f->rip);
	if ((f->cs & 3) == 3) {
		int code = r == MM_FAULT_PROTECTED ? SEGV_ACCERR : SEGV_MAPERR;

		if (signal_deliver_fault(f, SIGSEGV, code, addr) == 0)
			return true;
		process_kill_by_fault(SIGSEGV,
				      r == MM_FAULT_PROTECTED ? "access to a protected page"
							      : "access to an unmapped address",
				      addr, f->rip);
	}
	fixup = uaccess_fixup_for(f->rip);
	if (fixup == 0)
		return false;
	f->rip = fixup;
	return true;
}

/* The si_code of an SSE floating-point exception: the first unmasked
 * exception flag in MXCSR, in Linux's order. */
static int simd_fpe_code(void)
{
	/* fxsave, not stmxcsr: KVM's emulator (ring 0 on nested PVM) has
	 * only the former. */
	uint8_t fx[512] __attribute__((aligned(16)));
	uint32_t mxcsr, pending;

	__asm__ volatile("fxsave64 %0" : "=m"(fx));
	memcpy(&mxcsr, fx + 24, sizeof(mxcsr));
	pending = mxcsr & ~(mxcsr >> 7) & 0x3f;
	if (pending & 0x01)
		return FPE_FLTINV;
	if (pending & 0x04)
		return FPE_FLTDIV;
	if (pending & 0x08)
		return FPE_FLTOVF;
	if (pending & 0x12)
		return FPE_FLTUND;
	if (pending & 0x20)
		return FPE_FLTRES;
	return 0;
}

/* Linux's si_code and si_addr for a CPU exception in a program. */
static void fault_info(const struct trap_frame *f, int *code, uint64_t *addr)
{
	*addr = f->rip;
	switch (f->vector) {
	case TRAP_VECTOR_DE:
		*code = FPE_INTDIV;
		break;
	case TRAP_VECTOR_XM:
		*code = simd_fpe_code();
		break;
	case TRAP_VECTOR_UD:
		*code = ILL_ILLOPN;
		break;
	case TRAP_VECTOR_DB:
		*code = TRAP_TRACE; /* single step */
		break;
	case 17: /* #AC */
		*code = BUS_ADRALN;
		break;
	default: /* #BP, #GP...: the kernel's own code, no address */
		*code = SI_KERNEL;
		*addr = 0;
		break;
	}
}

/* What Linux sends for a CPU exception in a program. */
static int signal_for_vector(uint64_t vector)
{
	switch (vector) {
	case TRAP_VECTOR_DE:
	case TRAP_VECTOR_XM:
	case 16: /* #MF */
		return SIGFPE;
	case TRAP_VECTOR_DB:
	case TRAP_VECTOR_BP:
		return SIGTRAP;
	case TRAP_VECTOR_UD:
		return SIGILL;
	case 17: /* #AC */
		return SIGBUS;
	default:
		return SIGSEGV;
	}
}

/* Every exception in the kernel is fatal for now; the Linux personality
 * turns ring-3 exceptions into signals. */
void trap_dispatch(struct trap_frame *frame)
{
	struct percpu *cpu = this_cpu();
	struct lispvm_fault_report report;

	if (is_stranded_syscall(frame)) {
		finish_stranded_syscall(frame);
		return;
	}
	if (frame->vector == TIMER_VECTOR) {
		lapic_timer_tick();
		sched_tick(frame);
		return;
	}
	if (frame->vector == SPURIOUS_VECTOR)
		return; /* no EOI for a spurious interrupt */
	if (frame->vector == LISPVM_HOST_SIGNAL_VECTOR) {
		lapic_eoi();
		signal_take_host_signals(frame);
		return;
	}
	if (frame->vector == LISPVM_VIRTIO_CONSOLE_VECTOR) {
		lapic_eoi();
		vconsole_interrupt();
		return;
	}
	if (frame->vector == LISPVM_VIRTIO_VSOCK_VECTOR) {
		lapic_eoi();
		vvsock_interrupt();
		return;
	}
	if (frame->vector == TRAP_VECTOR_PF && handle_user_page_fault(frame))
		return;
	if ((frame->cs & 3) == 3 && cpu->current != NULL) {
		int sig = signal_for_vector(frame->vector), code;
		uint64_t addr;

		fault_info(frame, &code, &addr);
		if (signal_deliver_fault(frame, sig, code, addr) == 0)
			return;
		process_kill_by_fault(sig, "CPU exception", frame->vector, frame->rip);
	}

	if (cpu->in_fatal_fault++)
		platform_exit(LISPVM_EXIT_GUEST_CRASH);
	fill_report(frame, &report);
	platform_report_fault(&report);
}
