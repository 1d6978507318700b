/* SPDX-License-Identifier: MIT */
#include "binfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "log.h"
#include "self_path.h"

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"

/* binfmt_misc magic strings, \x-escaped as its register file reads them. */
static const struct binfmt_entry {
	const char *name;
	const char *magic;
} entries[] = {
	{"lispvm-fasl-script", "#!/usr/bin/sbcl --script\\x0a# FASL\\x0a"},
	{"lispvm-fasl", "# FASL\\x0a"},
};

#define NR_ENTRIES (sizeof(entries) / sizeof(entries[0]))

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* binfmt_misc is not always mounted (a container, an initramfs). */
static int ensure_mounted(void)
{
	if (access(BINFMT_DIR "/register", W_OK) == 0)
		return 0;
	if (mount("binfmt_misc", BINFMT_DIR, "binfmt_misc", 0, NULL) < 0 && errno != EBUSY) {
		log_error("binfmt: cannot mount binfmt_misc on %s: %s (as root?)", BINFMT_DIR,
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void entry_path(const struct binfmt_entry *entry, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", BINFMT_DIR, entry->name);
}

static int uninstall(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < NR_ENTRIES; i++) {
		entry_path(&entries[i], path, sizeof(path));
		if (access(path, F_OK) == 0 && write_file(path, "-1") < 0) {
			log_error("binfmt: cannot remove %s: %s", path, strerror(errno));
			return LISPVM_EXIT_HOST_ERROR;
		}
	}
	return 0;
}

/* F: the kernel opens lispvm now, so the handler works in any mount
 * namespace and whatever PATH says at exec time. */
static int install(void)
{
	char self[PATH_MAX], rule[PATH_MAX + 128];

	if (self_path(self, sizeof(self)) < 0) {
		log_error("binfmt: cannot find lispvm's own path: %s", strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (strchr(self, ':') != NULL) {
		log_error("binfmt: lispvm's path %s has a ':', which binfmt_misc cannot take",
			  self);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (ensure_mounted() < 0 || uninstall() != 0)
		return LISPVM_EXIT_HOST_ERROR;
	for (size_t i = 0; i < NR_ENTRIES; i++) {
		snprintf(rule, sizeof(rule), ":%s:M::%s::%s:F", entries[i].name, entries[i].magic,
			 self);
		if (write_file(BINFMT_DIR "/register", rule) < 0) {
			log_error("binfmt: cannot register %s: %s", entries[i].name,
				  strerror(errno));
			return LISPVM_EXIT_HOST_ERROR;
		}
	}
	printf("binfmt: executable fasls now run with %s\n", self);
	return 0;
}

static int status(void)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	int installed = 0;

	for (size_t i = 0; i < NR_ENTRIES; i++) {
		FILE *f;

		entry_path(&entries[i], path, sizeof(path));
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		installed++;
		printf("%s:", entries[i].name);
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strcmp(line, "enabled") == 0 || strcmp(line, "disabled") == 0 ||
			    strncmp(line, "interpreter ", 12) == 0)
				printf(" %s", line);
		}
		printf("\n");
		fclose(f);
	}
	if (installed == 0)
		printf("binfmt: not installed (lispvm binfmt install, as root)\n");
	return installed == (int)NR_ENTRIES ? 0 : 3;
}

int binfmt_command(const char *verb)
{
	if (strcmp(verb, "install") == 0)
		return install();
	if (strcmp(verb, "uninstall") == 0)
		return ensure_mounted() < 0 ? LISPVM_EXIT_HOST_ERROR : uninstall();
	return status();
}
