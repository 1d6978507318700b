/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* unshare, setresuid, CLONE_* */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "jail_cgroup.h"
#include "jail_plan.h"
#include "log.h"
#include "make_dirs.h"
#include "user_namespace.h"
#include "vsock_connect.h"

/* Enough for every vsock stream (128) and HOSTFS handle (1024) at once,
 * and the VMM's own. */
#define JAIL_NOFILE 2048

struct jail {
	struct jail_plan plan;
	const struct jail_options *opts;
	char root[64]; /* where the new root is built (an empty host directory) */
	struct vm_listen_fds fds;
	bool user_namespace; /* the caller's uid, in a user namespace */
	struct jail_cgroup cgroup;
	int placed[2]; /* the keeper waits until it is in the cgroup */
	/* jail_run_beside's: run here while the jail runs */
	void (*beside)(void *arg);
	void *beside_arg;
	int outside_fd;
};

static volatile pid_t forward_to = -1;

/* What lispvm passes on, through the keeper, to the VMM. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NR_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static void mask_forwarded(int how)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NR_FORWARDED; i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(how, &set, NULL);
}

/* A signal from the terminal reached the whole process group already;
 * one sent to this process is passed on. */
static void forward(int sig, siginfo_t *info, void *context)
{
	(void)context;
	if (info->si_code != SI_KERNEL && forward_to > 0)
		kill(forward_to, sig);
}

static void forward_signals(pid_t to)
{
	struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};

	forward_to = to;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NR_FORWARDED; i++)
		sigaction(forwarded[i], &sa, NULL);
}

static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return LISPVM_EXIT_HOST_ERROR;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The jail has no directory the VMM could make them in. */
static int make_sockets(struct jail *j)
{
	const struct vm_config *c = &j->plan.config;

	j->fds = (struct vm_listen_fds){.vsock = -1, .control = -1};
	if (c->vsock_path != NULL && (j->fds.vsock = unix_stream_listen(c->vsock_path, 64)) < 0) {
		log_error("--vsock %s: %s", c->vsock_path, strerror(errno));
		return -1;
	}
	if (c->control_path != NULL &&
	    (j->fds.control = unix_stream_listen(c->control_path, 8)) < 0) {
		log_error("control socket %s: %s", c->control_path, strerror(errno));
		return -1;
	}
	j->plan.config.listen_fds = &j->fds;
	return 0;
}

static void remove_sockets(struct jail *j)
{
	const struct vm_config *c = &j->plan.config;

	if (j->fds.vsock >= 0) {
		close(j->fds.vsock);
		unlink(c->vsock_path);
	}
	if (j->fds.control >= 0) {
		close(j->fds.control);
		unlink(c->control_path);
	}
}

/* --- in the VMM, the first process of the new PID namespace --- */

static int fail(const char *what, const char *path)
{
	log_error("--jail: %s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(errno));
	return -1;
}

/* The flags a bind mount of path cannot lose (in a user namespace they
 * are locked), as mount(2) flags. */
static unsigned long kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long flags = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		flags |= MS_RDONLY;
	return flags;
}

/* path from the host at the same path under root, bound with no more
 * access than it needs. */
static int expose(const struct jail *j, const struct jail_path *p)
{
	char target[sizeof(j->root) + PATH_MAX];
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC | kept_flags(p->path);
	char why[sizeof(target) + 64];
	int fd;

	snprintf(target, sizeof(target), "%s%s", j->root, p->path);
	if (make_parent_dirs(target, why, sizeof(why)) < 0) {
		log_error("--jail: %s", why);
		return -1;
	}
	/* A path under one exposed before it (the plan is sorted) is there
	 * already, on the host: nothing is made there. */
	if (access(target, F_OK) < 0 &&
	    (p->dir ? mkdir(target, 0755) < 0
		    : (fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) < 0 ||
			      close(fd) < 0))
		return fail("cannot make", target);
	if (mount(p->path, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail("cannot bind", p->path);
	if (p->access == JAIL_READ)
		flags |= MS_RDONLY;
	if (p->access != JAIL_DEVICE)
		flags |= MS_NODEV;
	if (mount(NULL, target, NULL, flags, NULL) < 0)
		return fail("cannot remount", p->path);
	return 0;
}

static int build_root(const struct jail *j)
{
	char proc[sizeof(j->root) + 8];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("cannot make the mounts private", NULL);
	if (mount("tmpfs", j->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m") < 0)
		return fail("cannot mount a tmpfs on", j->root);
	for (unsigned int i = 0; i < j->plan.n; i++)
		if (expose(j, &j->plan.paths[i]) < 0)
			return -1;
	snprintf(proc, sizeof(proc), "%s/proc", j->root);
	if (mkdir(proc, 0555) < 0 ||
	    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail("cannot mount", proc);
	/* pivot_root(".", "."): the old root goes under the new one, and is
	 * then detached from it. */
	if (chdir(j->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail("cannot enter the new root", j->root);
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return fail("cannot make the root read-only", NULL);
	return 0;
}

/* None can come back: not from the bounding set, not as ambient ones.
 * Needs CAP_SETPCAP, so it comes first. */
static int drop_capability_bounds(void)
{
	/* The kernel may know more capabilities than these headers. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail("cannot drop capabilities", NULL);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail("cannot clear ambient capabilities", NULL);
	return 0;
}

/* Last: a change of user needs CAP_SETUID and CAP_SETGID. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (syscall(SYS_capset, &header, data) < 0)
		return fail("cannot drop capabilities", NULL);
	return 0;
}

/* --jail-user: that user, with /dev/kvm's group when the device is not
 * open to all. */
static int become_user(const struct jail *j)
{
	gid_t groups[1];
	int n = 0;
	struct stat st;

	if (j->user_namespace)
		return 0;
	if (stat("/dev/kvm", &st) == 0 && !(st.st_mode & S_IWOTH))
		groups[n++] = st.st_gid;
	if (setgroups((size_t)n, groups) < 0 ||
	    setresgid(j->opts->gid, j->opts->gid, j->opts->gid) < 0 ||
	    setresuid(j->opts->uid, j->opts->uid, j->opts->uid) < 0)
		return fail("cannot become the jail's user", NULL);
	return 0;
}

static int limit(void)
{
	struct rlimit files = {JAIL_NOFILE, JAIL_NOFILE}, core = {0, 0};

	/* No core file: it would hold guest memory. */
	if (setrlimit(RLIMIT_NOFILE, &files) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		return fail("cannot set resource limits", NULL);
	return 0;
}

static void end_by_signal(int sig)
{
	_exit(128 + sig);
}

/* The VMM is its PID namespace's init, which the kernel shields from the
 * keeper's signals while it has no handler for them: until vm_run catches
 * them (a warm VM waits for its program long before), each ends it as it
 * would end another process.  The keeper held them back across the fork,
 * so none is lost before this. */
static void end_on_signals(void)
{
	for (size_t i = 0; i < NR_FORWARDED; i++)
		signal(forwarded[i], end_by_signal);
	mask_forwarded(SIG_UNBLOCK);
}

static void run_vmm(const struct jail *j)
{
	end_on_signals();
	if (build_root(j) < 0 || sethostname("lispvm", 6) < 0 || drop_capability_bounds() < 0 ||
	    become_user(j) < 0 || drop_capabilities() < 0 || limit() < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		exit(LISPVM_EXIT_HOST_ERROR);
	exit(vm_run(&j->plan.config));
}

/* --- the keeper: makes the namespaces, starts the VMM in them, waits --- */

/* The caller's own uid and gid, and nothing else, inside. */
static int enter_user_namespace(void)
{
	const char *what;

	if (user_namespace_enter(&what) == 0)
		return 0;
	log_error("--jail: cannot %s: %s", what, strerror(errno));
	return -1;
}

static void keep(const struct jail *j)
{
	pid_t vmm;
	char placed;

	/* lispvm killed outright takes the jail with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	close(j->placed[1]);
	if (j->outside_fd >= 0)
		close(j->outside_fd);
	if (read(j->placed[0], &placed, 1) != 1)
		_exit(LISPVM_EXIT_HOST_ERROR); /* lispvm could not place it */
	close(j->placed[0]);
	if (j->user_namespace && enter_user_namespace() < 0)
		_exit(LISPVM_EXIT_HOST_ERROR);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0) {
		fail("cannot make the namespaces", NULL);
		_exit(LISPVM_EXIT_HOST_ERROR);
	}
	mask_forwarded(SIG_BLOCK);
	vmm = fork();
	if (vmm < 0)
		_exit(LISPVM_EXIT_HOST_ERROR);
	if (vmm == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		run_vmm(j);
	}
	/* The keeper only waits and passes signals on: no capability, and
	 * the VMM's user, whom it may signal. */
	if (drop_capability_bounds() < 0 || become_user(j) < 0 || drop_capabilities() < 0)
		kill(vmm, SIGKILL);
	forward_signals(vmm);
	mask_forwarded(SIG_UNBLOCK);
	_exit(wait_status(vmm));
}

/* Root's jails only: another user has no cgroup of its own to divide. */
static int make_cgroup(struct jail *j, const struct vm_config *config)
{
	struct jail_limits limits = {.memory_max = config->memory_size + JAIL_VMM_MEMORY,
				     .pids_max = JAIL_PIDS_MAX,
				     .cpu_quota_us = j->opts->cpu_percent * 1000ull,
				     .cpu_period_us = 100000};
	char name[32], err[512];

	if (geteuid() != 0) {
		if (j->opts->cpu_percent == 0)
			return 0;
		log_error("--jail-cpus: only root's jails have a cgroup");
		return -1;
	}
	snprintf(name, sizeof(name), "vm-%d", (int)getpid());
	if (jail_cgroup_make(&j->cgroup, name, &limits, err, sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	return -1;
}

/* Places the keeper (and so the VMM it starts) in the cgroup, then lets
 * it go on, runs what goes beside it, and waits for it. */
static int start_keeper(struct jail *j, pid_t keeper)
{
	char err[512];

	if (keeper < 0) {
		log_error("--jail: cannot start: %s", strerror(errno));
		close(j->placed[1]);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (j->cgroup.n > 0 && jail_cgroup_add(&j->cgroup, keeper, err, sizeof(err)) < 0) {
		log_error("%s", err);
		close(j->placed[1]); /* the keeper ends without starting the VMM */
		wait_status(keeper);
		return LISPVM_EXIT_HOST_ERROR;
	}
	forward_signals(keeper);
	if (write(j->placed[1], "", 1) != 1) {
		close(j->placed[1]);
		return LISPVM_EXIT_HOST_ERROR;
	}
	close(j->placed[1]);
	if (j->beside != NULL)
		j->beside(j->beside_arg);
	return wait_status(keeper);
}

int jail_run(const struct vm_config *config, const struct jail_options *opts)
{
	return jail_run_beside(config, opts, NULL, NULL, -1);
}

int jail_run_beside(const struct vm_config *config, const struct jail_options *opts,
		    void (*beside)(void *arg), void *arg, int outside_fd)
{
	static struct jail j; /* large: the plan's paths */
	char err[512];
	pid_t keeper;
	int status;

	j = (struct jail){.opts = opts,
			  .user_namespace = !opts->user_given,
			  .beside = beside,
			  .beside_arg = arg,
			  .outside_fd = outside_fd};
	if (opts->user_given && geteuid() != 0) {
		log_error("--jail-user: only root can run the VMM as another user");
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (jail_plan_make(config, &j.plan, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	snprintf(j.root, sizeof(j.root), "/tmp/lispvm-jail-XXXXXX");
	if (mkdtemp(j.root) == NULL) {
		log_error("--jail: cannot make %s: %s", j.root, strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (make_sockets(&j) < 0) {
		remove_sockets(&j);
		rmdir(j.root);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (make_cgroup(&j, config) < 0 || pipe2(j.placed, O_CLOEXEC) < 0) {
		jail_cgroup_remove(&j.cgroup);
		remove_sockets(&j);
		rmdir(j.root);
		return LISPVM_EXIT_HOST_ERROR;
	}
	fflush(NULL);
	keeper = fork();
	if (keeper == 0)
		keep(&j);
	close(j.placed[0]);
	status = start_keeper(&j, keeper);
	jail_cgroup_remove(&j.cgroup);
	remove_sockets(&j);
	rmdir(j.root);
	return status;
}
