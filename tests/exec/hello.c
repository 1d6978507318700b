// SPDX-License-Identifier: MIT
// The smallest real program for lispvm exec: prints its arguments, one
// environment variable, its working directory and what stdio is, then
// exits with the status given as its first argument (if numeric).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char cwd[4096];
	const char *probe = getenv("LISPVM_TEST");

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("LISPVM_TEST=%s\n", probe ? probe : "(unset)");
	printf("cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "(error)");
	fprintf(stderr, "to stderr\n");
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
