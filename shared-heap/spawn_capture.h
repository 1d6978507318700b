/* SPDX-License-Identifier: MIT */
/* Running a helper program (ldd, mkfs.erofs) without a shell and keeping
 * what it printed, so its own words can go into our error messages. */
#ifndef LISPVM_SPAWN_CAPTURE_H
#define LISPVM_SPAWN_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

struct spawn_capture {
	char *out; /* stdout, NUL-terminated */
	size_t out_len;
	char *err; /* stderr, NUL-terminated; only its tail if it was huge */
	size_t err_len;
	int status; /* as waitpid() reports it */
};

/* Runs argv[0], looked up in PATH, with stdin from /dev/null and envp as its
 * environment (NULL: ours), and waits for it. Returns 0 once it has exited
 * (res then needs spawn_capture_free), else an errno value: ENOENT means
 * the program is not installed. */
int spawn_capture_run(char *const argv[], char *const envp[], struct spawn_capture *res);
void spawn_capture_free(struct spawn_capture *res);

/* "exit 1" or "killed by signal 9", for messages. */
void spawn_status_text(int status, char *buf, size_t size);

/* The last non-empty line of text that starts with prefix, without the
 * prefix; false (and buf "") if there is none. */
bool text_last_line(const char *text, const char *prefix, char *buf, size_t size);

#endif
