/* SPDX-License-Identifier: MIT */
/*
 * Many VMs, one after another, in one process: what the VMM takes for a
 * VM (fds, threads, memory) it gives back.  Each VM runs vm_run in a
 * thread of its own, as a VMM serving several VMs would, since the vCPU
 * thread's seccomp filter stays with that thread; every VM has the
 * console, a vsock device and a control socket (so their threads come and
 * go too).  After a warm-up, the process's fd count and thread count must
 * come back to where they were and its RSS may grow by at most
 * RSS_BOUND_KIB.
 *
 * Usage: lifecycle GUEST_ELF COUNT DIR (DIR: where the sockets go)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"
#include "vm_control.h"

#define WARM_UP	      10
#define RSS_BOUND_KIB (8 * 1024)

struct one_vm {
	const struct vm_config *config;
	int status;
};

static unsigned int count_entries(const char *path)
{
	DIR *d = opendir(path);
	unsigned int n = 0;

	if (d == NULL)
		return 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 2; /* . and .. */
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *run_one(void *arg)
{
	struct one_vm *vm = arg;

	vm->status = vm_run(vm->config);
	return NULL;
}

static int run_in_thread(const struct vm_config *config)
{
	struct one_vm vm = {.config = config, .status = -1};
	pthread_t t;

	if (pthread_create(&t, NULL, run_one, &vm) != 0)
		return -1;
	pthread_join(t, NULL);
	return vm.status;
}

int main(int argc, char **argv)
{
	char vsock[256], control[300];
	unsigned int count, fds = 0, threads = 0;
	long rss = 0;
	int null_fd;

	if (argc != 4 || (count = (unsigned int)atoi(argv[2])) <= WARM_UP) {
		fprintf(stderr, "usage: lifecycle GUEST_ELF COUNT(>%d) DIR\n", WARM_UP);
		return 2;
	}
	snprintf(vsock, sizeof(vsock), "%s/vm.sock", argv[3]);
	snprintf(control, sizeof(control), "%s%s", vsock, VM_CONTROL_SUFFIX);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct vm_config config = {.kernel_path = argv[1],
				   .memory_size = 64ull << 20,
				   .cmdline = "",
				   .console_fd = null_fd,
				   .timeout_seconds = 0,
				   .vsock_path = vsock,
				   .guest_cid = 3,
				   .control_path = control};
	for (unsigned int i = 0; i < count; i++) {
		int status = run_in_thread(&config);

		if (status != 0) {
			fprintf(stderr, "lifecycle: VM %u of %u exited %d\n", i + 1, count, status);
			return 1;
		}
		if (i + 1 == WARM_UP) {
			fds = count_entries("/proc/self/fd");
			threads = count_entries("/proc/self/task");
			rss = rss_kib();
		}
	}
	unsigned int fds_end = count_entries("/proc/self/fd");
	unsigned int threads_end = count_entries("/proc/self/task");
	long rss_end = rss_kib();

	printf("lifecycle: %u VMs; after %d and at the end: fds %u, %u; threads %u, %u; "
	       "RSS %ld KiB, %ld KiB\n",
	       count, WARM_UP, fds, fds_end, threads, threads_end, rss, rss_end);
	if (fds_end != fds || threads_end != threads || rss_end - rss > RSS_BOUND_KIB) {
		fprintf(stderr,
			"lifecycle: the VMM kept what its VMs used (bound: same fds and "
			"threads, RSS within %d KiB)\n",
			RSS_BOUND_KIB);
		return 1;
	}
	return 0;
}
