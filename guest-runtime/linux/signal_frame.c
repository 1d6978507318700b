/* SPDX-License-Identifier: MIT */
#include "linux/signal_frame.h"

#include <asm/sigcontext.h>
#include <asm/signal.h>
#include <asm/ucontext.h>
#include <errno.h>
#include <lispvm/abi.h>
#include <linux/signal.h>
#include <string.h>

#include "arch/x86/selectors.h"
#include "arch/x86/user_mode.h"
#include "kernel/hypercall.h"
#include "linux/process.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define SIG_BIT(sig)  (1ull << ((sig)-1))
#define UNBLOCKABLE   (SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))
#define RED_ZONE      128
#define FXSAVE_SIZE   512
#define MXCSR_DEFAULT 0x1f80u

/* Linux's struct ucontext and rt_sigframe on x86-64, with fixed-width
 * fields (the UAPI struct ucontext uses the 32-bit-compatible names). */
struct user_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	stack_t uc_stack;
	struct sigcontext_64 uc_mcontext;
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode; /* sa_restorer: the handler returns into it */
	struct user_ucontext uc;
	siginfo_t info;
};

static void fpu_save(struct _fpstate_64 *fx)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*fx));
}

static void fpu_restore(const struct _fpstate_64 *fx)
{
	__asm__ volatile("fxrstor64 %0" ::"m"(*fx));
}

/* The MXCSR bits this CPU accepts: fxrstor of any other faults (in the
 * kernel), so a frame asking for them is refused. */
static uint32_t mxcsr_valid_bits(void)
{
	struct _fpstate_64 fx __attribute__((aligned(16)));

	fpu_save(&fx);
	return fx.mxcsr_mask ? fx.mxcsr_mask : 0xffbfu;
}

/* Handlers start with a fresh FPU, as Linux gives them: the state after
 * fninit with the default MXCSR.  Loaded with fxrstor alone, because
 * KVM's instruction emulator (which runs this ring-0 code on nested PVM
 * hosts) has fxsave/fxrstor but not ldmxcsr. */
static void fpu_reset(void)
{
	static const struct _fpstate_64 initial __attribute__((aligned(16))) = {
		.cwd = 0x37f,
		.mxcsr = MXCSR_DEFAULT,
	};

	fpu_restore(&initial);
}

static bool on_altstack(const struct thread *t, uint64_t sp)
{
	uint64_t base = (uint64_t)t->altstack.ss_sp;

	return !(t->altstack.ss_flags & SS_DISABLE) && sp > base &&
	       sp - base <= t->altstack.ss_size;
}

static void save_registers(const struct trap_frame *f, struct sigcontext_64 *sc)
{
	const uint64_t *g = f->gpr;

	*sc = (struct sigcontext_64){
		.r8 = g[LISPVM_GPR_R8],
		.r9 = g[LISPVM_GPR_R9],
		.r10 = g[LISPVM_GPR_R10],
		.r11 = g[LISPVM_GPR_R11],
		.r12 = g[LISPVM_GPR_R12],
		.r13 = g[LISPVM_GPR_R13],
		.r14 = g[LISPVM_GPR_R14],
		.r15 = g[LISPVM_GPR_R15],
		.di = g[LISPVM_GPR_RDI],
		.si = g[LISPVM_GPR_RSI],
		.bp = g[LISPVM_GPR_RBP],
		.bx = g[LISPVM_GPR_RBX],
		.dx = g[LISPVM_GPR_RDX],
		.ax = g[LISPVM_GPR_RAX],
		.cx = g[LISPVM_GPR_RCX],
		.sp = f->rsp,
		.ip = f->rip,
		.flags = f->rflags,
		.cs = USER_CS,
		.ss = USER_SS,
		.err = f->error_code,
		.trapno = f->vector,
	};
}

static void restore_registers(struct trap_frame *f, const struct sigcontext_64 *sc)
{
	uint64_t *g = f->gpr;

	g[LISPVM_GPR_R8] = sc->r8;
	g[LISPVM_GPR_R9] = sc->r9;
	g[LISPVM_GPR_R10] = sc->r10;
	g[LISPVM_GPR_R11] = sc->r11;
	g[LISPVM_GPR_R12] = sc->r12;
	g[LISPVM_GPR_R13] = sc->r13;
	g[LISPVM_GPR_R14] = sc->r14;
	g[LISPVM_GPR_R15] = sc->r15;
	g[LISPVM_GPR_RDI] = sc->di;
	g[LISPVM_GPR_RSI] = sc->si;
	g[LISPVM_GPR_RBP] = sc->bp;
	g[LISPVM_GPR_RBX] = sc->bx;
	g[LISPVM_GPR_RDX] = sc->dx;
	g[LISPVM_GPR_RAX] = sc->ax;
	g[LISPVM_GPR_RCX] = sc->cx;
	f->rsp = sc->sp;
	f->rip = sc->ip;
	f->rflags = user_rflags_sanitize(sc->flags);
	/* Only the one 64-bit user code and data selector exist here. */
	f->cs = USER_CS;
	f->ss = USER_SS;
}

/* Enters sig's handler with a frame holding the registers of f and info.
 * -1 when the frame does not fit on the stack. */
static int enter_handler(struct trap_frame *f, int sig, const siginfo_t *info, uint64_t cr2)
{
	struct thread *t = current_thread();
	struct sigaction *act = &t->proc->actions[sig - 1];
	uint64_t handler = (uint64_t)act->sa_handler, sp = f->rsp, fx_at;
	struct _fpstate_64 fx __attribute__((aligned(16)));
	struct rt_sigframe frame;

	if ((act->sa_flags & SA_ONSTACK) && !(t->altstack.ss_flags & SS_DISABLE) &&
	    !on_altstack(t, sp))
		sp = (uint64_t)t->altstack.ss_sp + t->altstack.ss_size;
	else
		sp -= RED_ZONE;
	fx_at = (sp - FXSAVE_SIZE) & ~63ull;
	sp = ((fx_at - sizeof(frame)) & ~15ull) - 8; /* as a call leaves it */

	fpu_save(&fx);
	memset(&frame, 0, sizeof(frame));
	frame.pretcode = (uint64_t)act->sa_restorer;
	frame.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	frame.uc.uc_stack = t->altstack;
	if (on_altstack(t, f->rsp))
		frame.uc.uc_stack.ss_flags = SS_ONSTACK;
	save_registers(f, &frame.uc.uc_mcontext);
	frame.uc.uc_mcontext.cr2 = cr2;
	frame.uc.uc_sigmask = t->has_saved_sigmask ? t->saved_sigmask : t->sigmask;
	frame.uc.uc_mcontext.oldmask = frame.uc.uc_sigmask;
	frame.uc.uc_mcontext.fpstate = fx_at;
	frame.info = *info;
	if (copy_to_user(fx_at, &fx, sizeof(fx)) < 0 || copy_to_user(sp, &frame, sizeof(frame)) < 0)
		return -1;	      /* no room for the frame: Linux kills with SIGSEGV */
	t->has_saved_sigmask = false; /* the frame carries it now */

	t->sigmask |= act->sa_mask | ((act->sa_flags & SA_NODEFER) ? 0 : SIG_BIT(sig));
	t->sigmask &= ~UNBLOCKABLE;
	if (act->sa_flags & SA_RESETHAND)
		act->sa_handler = SIG_DFL;
	fpu_reset();
	f->gpr[LISPVM_GPR_RDI] = (uint64_t)sig;
	f->gpr[LISPVM_GPR_RSI] = sp + offsetof(struct rt_sigframe, info);
	f->gpr[LISPVM_GPR_RDX] = sp + offsetof(struct rt_sigframe, uc);
	f->gpr[LISPVM_GPR_RAX] = 0;
	f->rsp = sp;
	f->rip = handler; /* read before SA_RESETHAND cleared it */
	f->rflags = user_rflags_sanitize(f->rflags & ~(uint64_t)(0x100 | 0x400)); /* TF, DF */
	return 0;
}

static bool has_handler(const struct sigaction *act)
{
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

int signal_deliver_fault(struct trap_frame *f, int sig, int code, uint64_t addr)
{
	struct thread *t = current_thread();
	siginfo_t info = {.si_signo = sig, .si_code = code};

	/* A fault that is blocked or not handled ends the program. */
	if (!has_handler(&t->proc->actions[sig - 1]) || (t->sigmask & SIG_BIT(sig)))
		return -1;
	info.si_addr = (void *)addr;
	return enter_handler(f, sig, &info, addr);
}

/* Signals whose default action is to do nothing: the ones Linux ignores,
 * and the job-control stops, which have no terminal to stop for here. */
#define DEFAULT_IGNORED                                                                            \
	(SIG_BIT(SIGCHLD) | SIG_BIT(SIGURG) | SIG_BIT(SIGWINCH) | SIG_BIT(SIGCONT) |               \
	 SIG_BIT(SIGSTOP) | SIG_BIT(SIGTSTP) | SIG_BIT(SIGTTIN) | SIG_BIT(SIGTTOU))

/* A call that ended with -ERESTARTSYS either starts again (RIP back on
 * the SYSCALL instruction, RAX its number again) or fails with EINTR,
 * before the handler's frame saves the registers.  act is the handler
 * about to run, or NULL when none does. */
static void settle_interrupted_call(struct trap_frame *f, int64_t nr, const struct sigaction *act)
{
	if (nr == NOT_A_SYSCALL || (int64_t)f->gpr[LISPVM_GPR_RAX] != -ERESTARTSYS)
		return;
	if (act && !(act->sa_flags & SA_RESTART)) {
		f->gpr[LISPVM_GPR_RAX] = (uint64_t)-EINTR;
		return;
	}
	f->gpr[LISPVM_GPR_RAX] = (uint64_t)nr;
	f->rip -= SYSCALL_INSN_LEN;
}

bool signal_is_ignored(const struct thread *t, int sig)
{
	const struct sigaction *act = &t->proc->actions[sig - 1];

	return act->sa_handler == SIG_IGN ||
	       (act->sa_handler == SIG_DFL && (DEFAULT_IGNORED & SIG_BIT(sig)));
}

void signal_deliver_pending(struct trap_frame *f, int64_t syscall_nr)
{
	struct thread *t = current_thread();
	uint64_t ready = t->pending & ~t->sigmask;

	while (ready) {
		int sig = __builtin_ctzll(ready) + 1;
		struct sigaction *act = &t->proc->actions[sig - 1];
		siginfo_t info = t->pending_info[sig - 1];

		t->pending &= ~SIG_BIT(sig);
		ready &= ~SIG_BIT(sig);
		if (signal_is_ignored(t, sig))
			continue;
		if (act->sa_handler == SIG_DFL)
			process_exit(sig); /* terminated: 128+sig, as a shell says */
		settle_interrupted_call(f, syscall_nr, act);
		if (enter_handler(f, sig, &info, 0) < 0)
			process_kill_by_fault(SIGSEGV, "no room for a signal frame", f->rsp,
					      f->rip);
		return; /* one handler at a time: the next after it returns */
	}
	settle_interrupted_call(f, syscall_nr, NULL);
	/* No handler ran: rt_sigsuspend's mask goes back now. */
	if (t->has_saved_sigmask) {
		t->sigmask = t->saved_sigmask;
		t->has_saved_sigmask = false;
	}
}

/* Linux returns through the frame's CS and SS (RPL forced to 3), and
 * its IRET faults on a selector that is not a user segment; SS is only
 * made valid for frames without UC_STRICT_RESTORE_SS.  The one 64-bit
 * user code and stack segments are all there is here, so any other
 * (even Linux's 32-bit code segment) ends the program with SIGSEGV. */
static bool frame_selectors_valid(const struct user_ucontext *uc)
{
	if ((uc->uc_mcontext.cs | 3) != USER_CS)
		return false;
	return !(uc->uc_flags & UC_STRICT_RESTORE_SS) || (uc->uc_mcontext.ss | 3) == USER_SS;
}

/* The handler returned into sa_restorer, which called this: the frame
 * lies just above the stack pointer (the return address was popped).
 * What the handler changed in the ucontext takes effect. */
SYSCALL_DEFINE(rt_sigreturn)
{
	struct trap_frame *f = syscall_frame();
	struct thread *t = current_thread();
	struct _fpstate_64 fx __attribute__((aligned(16)));
	struct rt_sigframe frame;

	if (copy_from_user(&frame, f->rsp - 8, sizeof(frame)) < 0)
		process_kill_by_fault(SIGSEGV, "bad signal frame", f->rsp, f->rip);
	/* A return address outside the program cannot be entered. */
	if (frame.uc.uc_mcontext.ip >= USER_SPACE_END)
		process_kill_by_fault(SIGSEGV, "sigreturn to a kernel address",
				      frame.uc.uc_mcontext.ip, f->rip);
	if (!frame_selectors_valid(&frame.uc))
		process_kill_by_fault(SIGSEGV, "sigreturn to a segment that does not exist",
				      frame.uc.uc_mcontext.cs, f->rip);
	if (frame.uc.uc_mcontext.fpstate) {
		if (copy_from_user(&fx, frame.uc.uc_mcontext.fpstate, sizeof(fx)) < 0 ||
		    (fx.mxcsr & ~mxcsr_valid_bits()))
			process_kill_by_fault(SIGSEGV, "bad FPU state in a signal frame",
					      frame.uc.uc_mcontext.fpstate, f->rip);
		fpu_restore(&fx);
	} else {
		fpu_reset();
	}
	restore_registers(f, &frame.uc.uc_mcontext);
	t->sigmask = frame.uc.uc_sigmask & ~UNBLOCKABLE;
	/* RAX is the result of this call: give back the restored one. */
	return (int64_t)f->gpr[LISPVM_GPR_RAX];
}

void signal_take_host_signals(struct trap_frame *f)
{
	uint64_t sigs = (uint64_t)hypercall(LISPVM_HC_HOST_SIGNALS, 0, 0);
	struct thread *t = current_thread();

	while (sigs) {
		int sig = __builtin_ctzll(sigs) + 1;

		sigs &= sigs - 1;
		if (sig <= SIGNAL_COUNT)
			signal_send_process(sig, SI_USER);
	}
	if (t != NULL && (f->cs & 3) == 3 && t->pending)
		signal_deliver_pending(f, NOT_A_SYSCALL);
}

void signal_accept_host_signals(void)
{
	hypercall(LISPVM_HC_HOST_SIGNALS, 1, 0);
}
