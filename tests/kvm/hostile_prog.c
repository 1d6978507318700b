/* SPDX-License-Identifier: MIT */
/*
 * A program that takes all it can of the host through the paths lispvm
 * gives it (tests/kvm/hostile.py):
 *   hostile_prog fds FILE      opens FILE (on a --mount) until refused
 *   hostile_prog conns PORT N  connects to the host's vsock PORT N times
 * It prints "got COUNT errno ERR" (ERR 0 when nothing was refused), then
 * holds everything until a line arrives on stdin, so that the host can
 * count what the VMM holds meanwhile, and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_until_refused(const char *path, int *err)
{
	struct rlimit lim = {.rlim_cur = 65536, .rlim_max = 65536};
	int n = 0;

	/* Past the guest's own default limit, so the host's is the one met. */
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		fprintf(stderr, "setrlimit: %s\n", strerror(errno));
	for (;;) {
		if (open(path, O_RDONLY) < 0) {
			*err = errno;
			return n;
		}
		n++;
	}
}

static int connect_many(unsigned int port, int count, int *err)
{
	int n = 0;

	*err = 0;
	for (int i = 0; i < count; i++) {
		struct sockaddr_vm addr = {
			.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			if (*err == 0)
				*err = errno;
			if (fd >= 0)
				close(fd);
			continue;
		}
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	char line[16];
	int n, err = 0;

	if (argc == 3 && strcmp(argv[1], "fds") == 0)
		n = open_until_refused(argv[2], &err);
	else if (argc == 4 && strcmp(argv[1], "conns") == 0)
		n = connect_many((unsigned int)atoi(argv[2]), atoi(argv[3]), &err);
	else {
		fprintf(stderr, "usage: hostile_prog fds FILE | conns PORT N\n");
		return 2;
	}
	printf("got %d errno %d\n", n, err);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 3;
	return 0;
}
