/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "image_command.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lispvm/abi.h>

#include "image_build.h"

enum { OPT_LDD = 256 };

static const struct option build_options[] = {
	{"output", required_argument, NULL, 'o'},
	{"ldd", required_argument, NULL, OPT_LDD},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct build_args {
	const char *output;
	struct image_entry *entries;
	size_t count;
	int help;
};

static void print_help(void)
{
	printf("Usage: lispvm image build -o OUT [--ldd BINARY]... [ENTRY]...\n"
	       "Build a read-only EROFS image of host files for lispvm guests.\n"
	       "\n"
	       "Entries, added in order (a later file replaces an earlier one):\n"
	       "  HOST_PATH             a file, a symlink (kept as a symlink) or a directory\n"
	       "                        (with everything in it), at the same absolute path\n"
	       "  HOST_PATH:GUEST_PATH  the same, at GUEST_PATH (absolute) in the image\n"
	       "\n"
	       "Options:\n"
	       "  -o, --output OUT   write the image to OUT; OUT is replaced only by a\n"
	       "                     complete image\n"
	       "      --ldd BINARY   add BINARY with the shared libraries and the ELF\n"
	       "                     interpreter ldd(1) lists for it\n"
	       "  -h, --help         show this help and exit\n"
	       "\n"
	       "Parent directories that are symlinks on the host (/lib -> usr/lib) are the\n"
	       "same symlinks in the image. Files keep their permission bits (not set-ID\n"
	       "bits) and mtimes; all are owned by root. Needs mkfs.erofs (erofs-utils).\n"
	       "\n"
	       "Exit status: 0 when the image was written, %d for a usage error, %d when\n"
	       "the image cannot be built.\n",
	       LISPVM_EXIT_USAGE, LISPVM_EXIT_HOST_ERROR);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("lispvm: image: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'lispvm image --help')\n", stderr);
	return -1;
}

static int add_entry(struct build_args *a, char *arg)
{
	if (image_entry_parse(arg, &a->entries[a->count]) < 0)
		return usage_error("build: '%s' has an empty HOST_PATH", arg);
	a->count++;
	return 0;
}

static int bad_option(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error("build: option '%s' needs an argument", opt);
	if (optopt != 0)
		return usage_error("build: unknown option '-%c'", optopt);
	return usage_error("build: unknown option '%s'", opt);
}

/* "-" first in the option string: entries come back in command-line order,
 * interleaved with --ldd, because order decides which entry wins. */
static int parse_build(int argc, char **argv, struct build_args *a)
{
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:o:h", build_options, NULL)) != -1) {
		if (c == 1 && add_entry(a, optarg) < 0)
			return -1;
		else if (c == 'o')
			a->output = optarg;
		else if (c == OPT_LDD)
			a->entries[a->count++] =
				(struct image_entry){IMAGE_ENTRY_LDD, optarg, NULL};
		else if (c == 'h')
			a->help = 1;
		else if (c != 1)
			return bad_option(c, argv);
	}
	for (; optind < argc; optind++) {
		if (add_entry(a, argv[optind]) < 0)
			return -1;
	}
	if (a->help)
		return 0;
	if (a->output == NULL)
		return usage_error("build: -o OUT is missing");
	if (a->count == 0)
		return usage_error(
			"build: nothing to put in the image (give ENTRY or --ldd BINARY)");
	return 0;
}

static int build_command(int argc, char **argv)
{
	struct build_args a = {.entries = calloc((size_t)argc, sizeof(struct image_entry))};
	char err[1024];
	int status = 0;

	if (a.entries == NULL) {
		fputs("lispvm: image: out of memory\n", stderr);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (parse_build(argc, argv, &a) < 0) {
		status = LISPVM_EXIT_USAGE;
	} else if (a.help) {
		print_help();
	} else if (image_build(a.output, a.entries, a.count, err, sizeof(err)) < 0) {
		fprintf(stderr, "lispvm: image: %s\n", err);
		status = LISPVM_EXIT_HOST_ERROR;
	}
	free(a.entries);
	return status;
}

int image_command_main(int argc, char **argv)
{
	if (argc < 2) {
		usage_error("missing command (build)");
		return LISPVM_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help();
		return 0;
	}
	if (strcmp(argv[1], "build") == 0)
		return build_command(argc - 1, argv + 1);
	usage_error("unknown command '%s'", argv[1]);
	return LISPVM_EXIT_USAGE;
}
