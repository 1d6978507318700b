/* SPDX-License-Identifier: MIT */
#include "vm_usage.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process_start.h"

static char lispvm_exe[PATH_MAX];

/* lispvm as execvp finds it: a name without '/' on PATH. */
static void find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	for (const char *p = path; p != NULL && *p != '\0';
	     p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
		size_t len = strcspn(p, ":");

		if ((size_t)snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, name) <
			    sizeof(candidate) &&
		    access(candidate, X_OK) == 0 && realpath(candidate, lispvm_exe) != NULL)
			return;
	}
	lispvm_exe[0] = '\0';
}

void vm_usage_init(const char *lispvm)
{
	if (strchr(lispvm, '/') == NULL)
		find_on_path(lispvm);
	else if (realpath(lispvm, lispvm_exe) == NULL)
		lispvm_exe[0] = '\0';
}

static bool is_vmm(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0 || lispvm_exe[0] == '\0')
		return false;
	exe[n] = '\0';
	/* A VM started before lispvm was rebuilt runs the old, unlinked file. */
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	return strcmp(exe, lispvm_exe) == 0;
}

static int cpu_seconds(pid_t pid, double *out)
{
	struct process_stat st;

	if (process_stat_read(pid, &st) < 0)
		return -1;
	*out = (double)(st.utime + st.stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static int memory(pid_t pid, uint64_t *rss, uint64_t *anon)
{
	char path[64], line[256];
	unsigned long long kib;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1) {
			*rss = (uint64_t)kib * 1024;
			found++;
		} else if (sscanf(line, "RssAnon: %llu kB", &kib) == 1) {
			*anon = (uint64_t)kib * 1024;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

/* A jailed VM (lispvm --jail) is three lispvm processes: the one the
 * daemon started, the jail's keeper, and the VMM under it. */
#define VM_TREE_DEPTH 3

static int add_tree(pid_t pid, int depth, struct vm_usage *out);

/* Without /proc/PID/task/PID/children (CONFIG_PROC_CHILDREN), the
 * children are the processes whose parent is pid. */
static int add_children_by_scan(pid_t pid, int depth, struct vm_usage *out)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;

	if (proc == NULL)
		return 0;
	while ((e = readdir(proc)) != NULL) {
		struct process_stat st;
		pid_t child = (pid_t)atoi(e->d_name);

		if (child > 0 && process_stat_read(child, &st) == 0 && st.ppid == pid &&
		    is_vmm(child))
			(void)add_tree(child, depth - 1, out);
	}
	closedir(proc);
	return 0;
}

/* Adds pid's figures, and those of its lispvm children down to depth
 * levels, into out: 0, or -1 when pid itself is gone. */
static int add_tree(pid_t pid, int depth, struct vm_usage *out)
{
	struct vm_usage own = {0};
	char path[64];
	long child;
	FILE *f;

	if (cpu_seconds(pid, &own.cpu_seconds) < 0 || memory(pid, &own.rss, &own.rss_anon) < 0)
		return -1;
	out->cpu_seconds += own.cpu_seconds;
	out->rss += own.rss;
	out->rss_anon += own.rss_anon;
	if (depth == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return add_children_by_scan(pid, depth, out);
	while (fscanf(f, "%ld", &child) == 1)
		if (child > 0 && is_vmm((pid_t)child))
			(void)add_tree((pid_t)child, depth - 1, out);
	fclose(f);
	return 0;
}

int vm_usage_get(pid_t pid, struct vm_usage *out)
{
	if (pid <= 0 || !is_vmm(pid))
		return -1;
	*out = (struct vm_usage){0};
	return add_tree(pid, VM_TREE_DEPTH - 1, out);
}

struct json_object *vm_usage_describe(pid_t pid)
{
	struct vm_usage u;
	struct json_object *d;

	if (vm_usage_get(pid, &u) < 0)
		return NULL;
	d = json_object_new_object();
	json_object_object_add(d, "cpu_seconds", json_object_new_double(u.cpu_seconds));
	json_object_object_add(d, "rss", json_object_new_int64((int64_t)u.rss));
	json_object_object_add(d, "rss_anon", json_object_new_int64((int64_t)u.rss_anon));
	return d;
}
