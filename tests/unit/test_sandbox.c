/* SPDX-License-Identifier: MIT */
/* The VMM's seccomp filters: each role's size, a forbidden call ending
 * the process with its one line, the argument checks, --seccomp-log, and
 * threads started under the Swank bridge's filter.  Every filter is
 * installed in a forked child, which leaves with _exit: the sanitizers'
 * exit-time work is not in any role's list. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "device_thread.h"
#include "lispvm/abi.h"
#include "sandbox.h"

#define ROLE_GOAL 40 /* the goal: at most this many calls a role */

struct outcome {
	int status; /* the child's exit status, or 128 + its signal */
	char err[512];
};

static int root_fd = -1;

static const struct sandbox_vcpu_needs all_needs = {
	.mount_root_fds = &root_fd,
	.nr_mounts = 1,
	.writes_snapshots = true,
	.takes_running_snapshots = true,
	.removes_sockets = true,
};

/* Runs body(role) in a child that installed role's filter first. */
static struct outcome in_child(enum sandbox_role role, bool log_only, int (*body)(void))
{
	struct outcome o = {0};
	int pipe_fds[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe(pipe_fds) < 0 || (pid = fork()) < 0) {
		o.status = -1;
		return o;
	}
	if (pid == 0) {
		char err[256];

		dup2(pipe_fds[1], STDERR_FILENO);
		sandbox_set_log_only(log_only);
		if (sandbox_enter(role, role == SANDBOX_VCPU ? &all_needs : NULL, err,
				  sizeof(err)) < 0) {
			dprintf(STDERR_FILENO, "enter: %s\n", err);
			_exit(99);
		}
		_exit(body());
	}
	close(pipe_fds[1]);
	n = read(pipe_fds[0], o.err, sizeof(o.err) - 1);
	o.err[n > 0 ? n : 0] = '\0';
	close(pipe_fds[0]);
	waitpid(pid, &status, 0);
	o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return o;
}

static int make_inet_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return fd >= 0 ? 0 : 3;
}

static int make_unix_socket(void)
{
	return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 3;
}

static int write_stderr(void)
{
	return write(STDERR_FILENO, "still here\n", 11) == 11 ? 0 : 3;
}

static int map_executable(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p != MAP_FAILED ? 0 : 3;
}

static int map_data(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p != MAP_FAILED ? 0 : 3;
}

static int open_beneath(int dir)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_BENEATH};

	return syscall(SYS_openat2, dir, ".", &how, sizeof(how)) >= 0 ? 0 : 3;
}

static int open_beneath_root(void)
{
	return open_beneath(root_fd);
}

static int open_beneath_cwd(void)
{
	return open_beneath(AT_FDCWD);
}

static int ioctl_not_kvm(void)
{
	int n;

	return ioctl(STDERR_FILENO, FIONREAD, &n) == 0 ? 0 : 3;
}

static int catch_sigsys_again(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	return sigaction(SIGSYS, &sa, NULL) == 0 ? 0 : 3;
}

static int catch_sigusr2(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	return sigaction(SIGUSR2, &sa, NULL) == 0 ? 0 : 3;
}

static int kill_init(void)
{
	return kill(1, 0) == 0 ? 0 : 3;
}

static void *nothing(void *arg)
{
	return arg;
}

/* As the bridge does per connection: glibc tries clone3, which the
 * filter refuses with ENOSYS, then clone for a thread. */
static int start_thread(void)
{
	pthread_t t;

	if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
		return 4;
	if (pthread_create(&t, NULL, nothing, NULL) != 0)
		return 3;
	pthread_join(t, NULL);
	return 0;
}

static void *make_inet_socket_thread(void *arg)
{
	(void)make_inet_socket();
	return arg;
}

/* The Swank bridge's relays: a thread that keeps its creator's filter
 * and is named by its role. */
static int relay_makes_forbidden_call(void)
{
	char err[256];
	pthread_t t;

	if (device_thread_start(&t, make_inet_socket_thread, NULL, SANDBOX_SAME_AS_CREATOR, err,
				sizeof(err)) < 0)
		return 4;
	pthread_join(t, NULL);
	return 0;
}

static int fork_process(void)
{
	return fork() >= 0 ? 0 : 3;
}

static void check_forbidden(enum sandbox_role role, int (*body)(void), const char *call)
{
	struct outcome o = in_child(role, false, body);
	char want[128];

	snprintf(want, sizeof(want), "lispvm: the VMM's %s thread made system call %s (",
		 sandbox_role_name(role), call);
	CHECK(o.status == LISPVM_EXIT_HOST_ERROR);
	CHECK_CONTAINS(o.err, want);
	CHECK_CONTAINS(o.err, "which its seccomp filter forbids");
	CHECK(strchr(o.err, '\n') == o.err + strlen(o.err) - 1); /* one line */
}

static void check_allowed(enum sandbox_role role, int (*body)(void))
{
	struct outcome o = in_child(role, false, body);

	CHECK(o.status == 0);
	if (o.status != 0)
		fprintf(stderr, "  role %s: status %d, stderr: %s\n", sandbox_role_name(role),
			o.status, o.err);
}

static void test_counts(void)
{
	char err[256];

	for (int r = 0; r < SANDBOX_NR_ROLES; r++) {
		int n = sandbox_count_syscalls((enum sandbox_role)r,
					       r == SANDBOX_VCPU ? &all_needs : NULL, err,
					       sizeof(err));

		printf("  %-13s %d system calls\n", sandbox_role_name((enum sandbox_role)r), n);
		CHECK(n > 0 && n <= ROLE_GOAL);
	}
	printf("  %-13s %d system calls (no mounts, snapshots or sockets)\n", "vCPU",
	       sandbox_count_syscalls(SANDBOX_VCPU, &(struct sandbox_vcpu_needs){0}, err,
				      sizeof(err)));
	CHECK(sandbox_count_syscalls(SANDBOX_VCPU, NULL, err, sizeof(err)) < 0);
}

static void test_violations(void)
{
	check_forbidden(SANDBOX_DIRTY_LOG, make_unix_socket, "socket");
	check_forbidden(SANDBOX_VSOCK, make_inet_socket, "socket");
	check_forbidden(SANDBOX_CONSOLE, fork_process, "clone");
	check_forbidden(SANDBOX_SWANK_BRIDGE, fork_process, "clone");
	check_forbidden(SANDBOX_VCPU, map_executable, "mmap");
	check_forbidden(SANDBOX_VCPU, open_beneath_cwd, "openat2");
	check_forbidden(SANDBOX_VCPU, ioctl_not_kvm, "ioctl");
	check_forbidden(SANDBOX_VCPU, catch_sigsys_again, "rt_sigaction");
	check_forbidden(SANDBOX_CONTROL, kill_init, "kill");
	check_forbidden(SANDBOX_SWANK_BRIDGE, relay_makes_forbidden_call, "socket");
}

static void test_allowed(void)
{
	check_allowed(SANDBOX_CONSOLE, write_stderr);
	check_allowed(SANDBOX_VSOCK, make_unix_socket);
	check_allowed(SANDBOX_VCPU, map_data);
	check_allowed(SANDBOX_VCPU, open_beneath_root);
	check_allowed(SANDBOX_VCPU, catch_sigusr2);
	check_allowed(SANDBOX_SWANK_BRIDGE, start_thread);
}

/* --seccomp-log: the call goes through (the kernel's audit has it). */
static void test_log_only(void)
{
	struct outcome o = in_child(SANDBOX_DIRTY_LOG, true, make_inet_socket);

	CHECK(o.status == 0);
	CHECK(o.err[0] == '\0');
}

int main(void)
{
	pthread_t t;

	/* glibc sets up its own thread signals at the first pthread_create;
	 * in the VMM that is long before any filter. */
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);
	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);
	test_counts();
	test_violations();
	test_allowed();
	test_log_only();
	return check_result("sandbox");
}
