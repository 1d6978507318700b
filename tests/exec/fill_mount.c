/* SPDX-License-Identifier: MIT */
/* Fills a directory until the host refuses, for --mount ...:rw,max-size:
 *   fill_mount write DIR   writes DIR/fill 64 KiB at a time
 *   fill_mount names DIR   creates empty files DIR/fN
 * Prints "errno E total T short S" (T: bytes written or files made, S: how
 * many writes came back short) and exits 0 once refused with ENOSPC. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 << 10)
#define MOST  100000 /* files or chunks: far past any cap the test gives */

static char buf[CHUNK];

static int fill_write(const char *dir)
{
	char path[4096];
	long long total = 0;
	int fd, err = 0, shorts = 0;

	snprintf(path, sizeof(path), "%s/fill", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < MOST; i++) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n < 0) {
			err = errno;
			break;
		}
		shorts += n < CHUNK;
		total += n;
	}
	close(fd);
	printf("errno %d total %lld short %d\n", err, total, shorts);
	return err == ENOSPC ? 0 : 1;
}

static int fill_names(const char *dir)
{
	char path[4096];
	int made = 0, err = 0;

	for (; made < MOST; made++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", dir, made);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
	}
	printf("errno %d total %d short 0\n", err, made);
	return err == ENOSPC ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "write") == 0)
		return fill_write(argv[2]);
	if (argc == 3 && strcmp(argv[1], "names") == 0)
		return fill_names(argv[2]);
	fprintf(stderr, "usage: fill_mount write|names DIR\n");
	return 2;
}
