/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* CLONE_* */
#include "seccomp_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define ALLOW(name)                                                                                \
	{                                                                                          \
		SCMP_SYS(name), 0, {{0}}, 0                                                        \
	}
/* Allowed where (argument & mask) == value. */
#define ALLOW_MASKED(name, arg, mask, value)                                                       \
	{                                                                                          \
		SCMP_SYS(name), 1, {{(arg), SCMP_CMP_MASKED_EQ, (mask), (value)}}, 0               \
	}
/* The kernel reads an ioctl's request as 32 bits. */
#define ALLOW_IOCTL(request) ALLOW_MASKED(ioctl, 1, 0xffffffffu, (request))
#define REFUSE(name, error)                                                                        \
	{                                                                                          \
		SCMP_SYS(name), 0, {{0}}, (error)                                                  \
	}
#define LIST(a)                                                                                    \
	(struct seccomp_allow_list)                                                                \
	{                                                                                          \
		(a), sizeof(a) / sizeof((a)[0])                                                    \
	}

/*
 * What any thread of the VMM needs to live, log a line and end: glibc's
 * locks and allocator (memory never executable: a mapping with PROT_EXEC
 * is refused), signal masks and returns, the clock where the vDSO falls
 * back to the kernel, and exit.
 */
static const struct seccomp_allow thread_life[] = {
	ALLOW(exit),
	ALLOW(exit_group),
	ALLOW(futex),
	ALLOW(rt_sigreturn),
	ALLOW(rt_sigprocmask),
	ALLOW(restart_syscall),
	ALLOW(write),
	ALLOW(close),
	ALLOW(clock_gettime),
	ALLOW(brk),
	ALLOW(munmap),
	ALLOW(getpid),
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
	ALLOW_MASKED(madvise, 2, ~0u, MADV_DONTNEED),
};

/* glibc's malloc reads /proc/sys/vm/overcommit_memory once, in the first
 * thread that shrinks a thread arena (never the vCPU thread's: it has the
 * main arena).  Refused, it shrinks with madvise as it does when the
 * file says heuristic overcommit. */
static const struct seccomp_allow device_life[] = {
	REFUSE(openat, EACCES),
};

#ifdef __SANITIZE_ADDRESS__
/* The sanitized build (the unit tests under ASan and UBSan): what their
 * runtimes call as a thread ends. */
static const struct seccomp_allow sanitizer_runtime[] = {
	ALLOW(sigaltstack),
	ALLOW(gettid),
	ALLOW(sched_yield),
	ALLOW(madvise),
};
#endif

/* Waiting on eventfds and sockets, and reading them. */
static const struct seccomp_allow poll_and_read[] = {
	ALLOW(poll),
	ALLOW(read),
};

/* The run loop and what a guest exit asks of the vCPU thread: KVM's
 * vCPU and VM requests that a running VM uses (the registers for a fault
 * report and for guest page walks, MSIs for host signals, and what a
 * snapshot of the running VM reads), the terminal's mode, guest memory
 * given back, the deadline's timer. */
static const struct seccomp_allow vcpu_run[] = {
	ALLOW_IOCTL(KVM_RUN),
	ALLOW_IOCTL(KVM_GET_REGS),
	ALLOW_IOCTL(KVM_GET_SREGS),
	ALLOW_IOCTL(KVM_SIGNAL_MSI),
	ALLOW_IOCTL(KVM_GET_MP_STATE),
	ALLOW_IOCTL(KVM_GET_XSAVE),
	ALLOW_IOCTL(KVM_GET_XCRS),
	ALLOW_IOCTL(KVM_GET_DEBUGREGS),
	ALLOW_IOCTL(KVM_GET_LAPIC),
	ALLOW_IOCTL(KVM_GET_MSR_INDEX_LIST),
	ALLOW_IOCTL(KVM_GET_MSRS),
	ALLOW_IOCTL(KVM_GET_VCPU_EVENTS),
	ALLOW_IOCTL(KVM_GET_CLOCK),
	ALLOW_IOCTL(KVM_GET_IRQCHIP),
	ALLOW_IOCTL(KVM_GET_DIRTY_LOG),
	ALLOW_IOCTL(TCGETS),
	ALLOW_IOCTL(TCSETS),
	ALLOW_IOCTL(TCSETSW),
	ALLOW_MASKED(madvise, 2, ~0u, MADV_REMOVE),
	/* SIGSYS stays with the handler that names a forbidden call. */
	{SCMP_SYS(rt_sigaction), 1, {{0, SCMP_CMP_NE, SIGSYS, 0}}, 0},
	ALLOW(alarm),
	ALLOW(lseek),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(newfstatat),
	ALLOW(getrandom), /* the guest's entropy */
};

/* The HOSTFS operations on --mount directories (openat2 beneath a mount
 * root is added at run time: its roots are known then). */
static const struct seccomp_allow hostfs_ops[] = {
	ALLOW(readlinkat),
	ALLOW(getdents64),
	ALLOW(ftruncate),
	ALLOW(fsync),
	ALLOW(mkdirat),
	ALLOW(unlinkat),
	ALLOW(renameat),
	ALLOW(symlinkat),
	ALLOW(fchmodat),
	ALLOW_MASKED(openat, 2, O_PATH, O_PATH),
	/* chmod's no-follow */ ALLOW(utimensat),
	ALLOW(linkat),
};

/* Writing a snapshot or a working set: which RAM pages are there to
 * save, the images' contents, and the file made durable.  A running VM's snapshot goes into a
 * file its client opened and handed over (vm_control.h). */
static const struct seccomp_allow snapshot_writing[] = {
	ALLOW(fsync),
	ALLOW(ftruncate),
	ALLOW(mincore),
	/* The images it names are hashed when it is taken, read only. */
	ALLOW_MASKED(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC | O_PATH, O_RDONLY),
};

/* Those named by path (lispvm prepare, --record-working-set): made beside
 * their final name, then renamed; a diff's base is opened and its real
 * name read.  The VMM names paths with the *at calls only (AT_FDCWD
 * here), so these and the HOSTFS operations share one family of calls. */
static const struct seccomp_allow snapshot_files[] = {
	ALLOW(openat),
	ALLOW(renameat),
	ALLOW(unlinkat),
	ALLOW(readlinkat),
};

static const struct seccomp_allow remove_sockets[] = {
	ALLOW(unlinkat),
};

/* Guest streams to host Unix sockets: connects to PATH_port, accepts on
 * PATH, and moves the bytes. */
static const struct seccomp_allow vsock[] = {
	ALLOW_MASKED(socket, 0, ~0u, AF_UNIX),
	ALLOW(connect),
	ALLOW(accept4),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(recvfrom),
	ALLOW(sendto),
	ALLOW(shutdown),
};

static const struct seccomp_allow console[] = {
	ALLOW(readv),
};

static const struct seccomp_allow dirty_log[] = {
	ALLOW_IOCTL(KVM_GET_DIRTY_LOG),
};

/* Requests come from this user or root only: the peer's credentials;
 * the snapshot's file comes with the request (SCM_RIGHTS). */
static const struct seccomp_allow control[] = {
	ALLOW(accept4),
	ALLOW(recvmsg),
	ALLOW(sendto),
	ALLOW(getuid),
	{SCMP_SYS(getsockopt),
	 2,
	 {{1, SCMP_CMP_EQ, SOL_SOCKET, 0}, {2, SCMP_CMP_EQ, SO_PEERCRED, 0}},
	 0},
};

/* 127.0.0.1:PORT to the guest's Swank over the vsock socket: a thread per
 * connection (clone for threads only; glibc falls back to it from clone3,
 * whose flags a filter cannot read). */
static const struct seccomp_allow swank_bridge[] = {
	ALLOW(accept4),
	ALLOW_MASKED(socket, 0, ~0u, AF_UNIX),
	ALLOW(connect),
	ALLOW(shutdown),
	ALLOW(sendto),
	ALLOW(clock_nanosleep), /* a relay waits for the guest's Swank */
	ALLOW(set_robust_list),
	ALLOW(rseq),
	ALLOW_MASKED(clone, 0, CLONE_THREAD | CLONE_VM, CLONE_THREAD | CLONE_VM),
	REFUSE(clone3, ENOSYS),
};

static size_t vcpu_lists(const struct seccomp_rule_choice *c, struct seccomp_allow_list *l)
{
	size_t n = 0;

	l[n++] = LIST(vcpu_run);
	if (c->hostfs)
		l[n++] = LIST(hostfs_ops);
	if (c->snapshot_files || c->running_snapshots)
		l[n++] = LIST(snapshot_writing);
	if (c->snapshot_files)
		l[n++] = LIST(snapshot_files);
	if (c->removes_sockets)
		l[n++] = LIST(remove_sockets);
	return n;
}

size_t seccomp_rules_for(enum sandbox_role role, const struct seccomp_rule_choice *choice,
			 struct seccomp_allow_list *lists, size_t max)
{
	struct seccomp_allow_list l[8];
	size_t n = 0;

	l[n++] = LIST(thread_life);
	l[n++] = LIST(poll_and_read);
	if (role != SANDBOX_VCPU)
		l[n++] = LIST(device_life);
#ifdef __SANITIZE_ADDRESS__
	l[n++] = LIST(sanitizer_runtime);
#endif
	switch (role) {
	case SANDBOX_VCPU:
		n += vcpu_lists(choice, &l[n]);
		break;
	case SANDBOX_CONSOLE: /* stdin to the guest, its output to stdout */
		l[n++] = LIST(console);
		break;
	case SANDBOX_VSOCK:
		l[n++] = LIST(vsock);
		break;
	case SANDBOX_DIRTY_LOG:
		l[n++] = LIST(dirty_log);
		break;
	case SANDBOX_CONTROL:
		l[n++] = LIST(control);
		break;
	case SANDBOX_SWANK_BRIDGE:
		l[n++] = LIST(swank_bridge);
		break;
	case SANDBOX_NR_ROLES:
		break;
	}
	for (size_t i = 0; i < n && i < max; i++)
		lists[i] = l[i];
	return n < max ? n : max;
}

bool seccomp_role_kicks_vcpu(enum sandbox_role role)
{
	return role == SANDBOX_CONSOLE || role == SANDBOX_VSOCK || role == SANDBOX_CONTROL ||
	       role == SANDBOX_DIRTY_LOG;
}
