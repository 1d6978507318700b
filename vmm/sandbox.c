/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* struct siginfo's si_syscall */
#include "sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lispvm/abi.h"
#include "seccomp_rules.h"

#define MAX_LISTS	  8
#define MAX_RUNTIME_RULES 16
/* x86-64's numbers stop below this; a call past it is named by number. */
#define MAX_SYSCALL_NR 512

struct role_rules {
	struct seccomp_allow_list lists[MAX_LISTS];
	size_t nr_lists;
	struct seccomp_allow runtime[MAX_RUNTIME_RULES]; /* values known only now */
	size_t nr_runtime;
};

static const char *const role_names[SANDBOX_NR_ROLES] = {
	[SANDBOX_VCPU] = "vCPU",       [SANDBOX_CONSOLE] = "console",
	[SANDBOX_VSOCK] = "vsock",     [SANDBOX_DIRTY_LOG] = "dirty log",
	[SANDBOX_CONTROL] = "control", [SANDBOX_SWANK_BRIDGE] = "swank bridge",
};

static bool log_only;
static __thread const char *thread_role = "main";

/* Resolved before the first filter: the SIGSYS handler may not allocate. */
static const char *syscall_names[MAX_SYSCALL_NR];
static pthread_once_t prepare_once = PTHREAD_ONCE_INIT;
static int prepare_errno;

void sandbox_set_log_only(bool on)
{
	log_only = on;
}

const char *sandbox_role_name(enum sandbox_role role)
{
	return role < SANDBOX_NR_ROLES ? role_names[role] : "unknown";
}

const char *sandbox_thread_role(void)
{
	return thread_role;
}

void sandbox_take_thread_role(const char *name)
{
	thread_role = name;
}

static char *append(char *p, char *end, const char *s)
{
	while (*s != '\0' && p < end)
		*p++ = *s++;
	return p;
}

static char *append_number(char *p, char *end, unsigned int n)
{
	char digits[12];
	int i = (int)sizeof(digits) - 1;

	digits[i] = '\0';
	do
		digits[--i] = (char)('0' + n % 10);
	while ((n /= 10) != 0 && i > 0);
	return append(p, end, &digits[i]);
}

/* Only async-signal-safe calls: the thread may have been anywhere. */
static void forbidden_call(int sig, siginfo_t *info, void *context)
{
	char line[256], *end = line + sizeof(line) - 1, *p = line;
	unsigned int nr = (unsigned int)info->si_syscall;
	const char *name = nr < MAX_SYSCALL_NR ? syscall_names[nr] : NULL;

	(void)sig;
	(void)context;
	p = append(p, end, "lispvm: the VMM's ");
	p = append(p, end, thread_role);
	p = append(p, end, " thread made system call ");
	p = append(p, end, name != NULL ? name : "?");
	p = append(p, end, " (");
	p = append_number(p, end, nr);
	p = append(p, end, "), which its seccomp filter forbids; the VM is stopped\n");
	if (write(STDERR_FILENO, line, (size_t)(p - line)) < 0)
		_exit(LISPVM_EXIT_HOST_ERROR);
	_exit(LISPVM_EXIT_HOST_ERROR);
}

static void prepare(void)
{
	struct sigaction sa = {.sa_sigaction = forbidden_call, .sa_flags = SA_SIGINFO};

	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		prepare_errno = errno;
}

static void add_runtime(struct role_rules *r, struct seccomp_allow rule)
{
	if (r->nr_runtime < MAX_RUNTIME_RULES)
		r->runtime[r->nr_runtime++] = rule;
}

static int role_rules(enum sandbox_role role, const struct sandbox_vcpu_needs *needs,
		      struct role_rules *r, char *err, size_t err_size)
{
	struct seccomp_rule_choice choice = {0};

	if (role == SANDBOX_VCPU && needs == NULL) {
		snprintf(err, err_size, "the vCPU thread's seccomp filter needs the VM's needs");
		return -1;
	}
	if (role == SANDBOX_VCPU) {
		choice = (struct seccomp_rule_choice){.hostfs = needs->nr_mounts > 0,
						      .snapshot_files = needs->writes_snapshots,
						      .running_snapshots =
							      needs->takes_running_snapshots,
						      .removes_sockets = needs->removes_sockets};
		if (needs->nr_mounts >= MAX_RUNTIME_RULES) {
			snprintf(err, err_size, "too many mounts for the seccomp filter");
			return -1;
		}
	}
	r->nr_lists = seccomp_rules_for(role, &choice, r->lists, MAX_LISTS);
	r->nr_runtime = 0;
	/* Kicks go to a thread of this process, with the kick's signal. */
	if (seccomp_role_kicks_vcpu(role))
		add_runtime(r, (struct seccomp_allow){SCMP_SYS(tgkill),
						      2,
						      {{0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0},
						       {2, SCMP_CMP_EQ, SIGUSR1, 0}},
						      0});
	/* HOSTFS lookups start at a mount's root (openat2's RESOLVE_BENEATH
	 * sits behind a pointer, which no filter can read). */
	for (unsigned int i = 0; role == SANDBOX_VCPU && i < needs->nr_mounts; i++)
		add_runtime(r, (struct seccomp_allow){SCMP_SYS(openat2),
						      1,
						      {{0, SCMP_CMP_EQ,
							(scmp_datum_t)needs->mount_root_fds[i], 0}},
						      0});
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_allow *a)
{
	uint32_t action =
		a->refuse_errno != 0 ? SCMP_ACT_ERRNO((uint32_t)a->refuse_errno) : SCMP_ACT_ALLOW;

	return seccomp_rule_add_array(ctx, action, a->nr, a->nr_conds, a->conds);
}

static int build_filter(scmp_filter_ctx ctx, const struct role_rules *r)
{
	int rc;

	for (size_t l = 0; l < r->nr_lists; l++)
		for (size_t i = 0; i < r->lists[l].n; i++)
			if ((rc = add_rule(ctx, &r->lists[l].allow[i])) < 0)
				return rc;
	for (size_t i = 0; i < r->nr_runtime; i++)
		if ((rc = add_rule(ctx, &r->runtime[i])) < 0)
			return rc;
	return 0;
}

static int load_filter(enum sandbox_role role, const struct role_rules *r, char *err,
		       size_t err_size)
{
	scmp_filter_ctx ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	int rc;

	if (ctx == NULL) {
		snprintf(err, err_size, "cannot make a seccomp filter (libseccomp)");
		return -1;
	}
	/* A binary tree of call numbers instead of a linear chain: the vCPU
	 * thread's KVM_RUN goes through its filter at every guest exit. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc == 0)
		rc = build_filter(ctx, r);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, err_size, "cannot install the %s thread's seccomp filter: %s",
			 role_names[role], strerror(-rc));
		return -1;
	}
	return 0;
}

int sandbox_enter(enum sandbox_role role, const struct sandbox_vcpu_needs *needs, char *err,
		  size_t err_size)
{
	struct role_rules rules;

	if (role >= SANDBOX_NR_ROLES) {
		snprintf(err, err_size, "no seccomp filter for thread role %d", (int)role);
		return -1;
	}
	pthread_once(&prepare_once, prepare);
	if (prepare_errno != 0) {
		snprintf(err, err_size, "cannot catch SIGSYS: %s", strerror(prepare_errno));
		return -1;
	}
	if (log_only && seccomp_api_get() < 3) {
		snprintf(err, err_size, "--seccomp-log: this kernel cannot log seccomp actions");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, err_size, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (role_rules(role, needs, &rules, err, err_size) < 0 ||
	    load_filter(role, &rules, err, err_size) < 0)
		return -1;
	thread_role = role_names[role];
	return 0;
}

int sandbox_count_syscalls(enum sandbox_role role, const struct sandbox_vcpu_needs *needs,
			   char *err, size_t err_size)
{
	bool seen[MAX_SYSCALL_NR] = {false};
	struct role_rules r;
	int count = 0;

	if (role >= SANDBOX_NR_ROLES || role_rules(role, needs, &r, err, err_size) < 0)
		return -1;
	for (size_t l = 0; l < r.nr_lists + 1; l++) {
		const struct seccomp_allow *a = l < r.nr_lists ? r.lists[l].allow : r.runtime;
		size_t n = l < r.nr_lists ? r.lists[l].n : r.nr_runtime;

		for (size_t i = 0; i < n; i++) {
			if (a[i].nr < 0 || a[i].nr >= MAX_SYSCALL_NR || a[i].refuse_errno != 0 ||
			    seen[a[i].nr])
				continue;
			seen[a[i].nr] = true;
			count++;
		}
	}
	return count;
}
