/* SPDX-License-Identifier: MIT */
#include "jail_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PARENT	    "lispvm" /* every jail's cgroup is under this one */

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

static int write_to(const char *dir, const char *file, const char *text, char *err, size_t err_size)
{
	char path[PATH_MAX + 64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text)) {
		snprintf(err, err_size, "--jail: cannot write %s to %s: %s", text, path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static bool access_in(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static int make_dir(const char *path, char *err, size_t err_size)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, err_size, "--jail: cannot make cgroup %s: %s", path, strerror(errno));
	return -1;
}

static bool has_controllers(const char *file)
{
	char text[512] = "";
	FILE *f = fopen(file, "re");

	if (f == NULL)
		return false;
	if (fgets(text, sizeof(text), f) == NULL)
		text[0] = '\0';
	fclose(f);
	return strstr(text, "memory") && strstr(text, "pids") && strstr(text, "cpu");
}

static int make_v2(struct jail_cgroup *cg, const char *name, const struct jail_limits *l, char *err,
		   size_t err_size)
{
	char text[64];

	cg->version = 2;
	cg->n = 1;
	snprintf(cg->dirs[0], sizeof(cg->dirs[0]), "%s/%s/%.64s", CGROUP_ROOT, PARENT, name);
	if (write_to(CGROUP_ROOT, "cgroup.subtree_control", "+memory +pids +cpu", err, err_size) <
		    0 ||
	    make_dir(CGROUP_ROOT "/" PARENT, err, err_size) < 0 ||
	    write_to(CGROUP_ROOT "/" PARENT, "cgroup.subtree_control", "+memory +pids +cpu", err,
		     err_size) < 0 ||
	    make_dir(cg->dirs[0], err, err_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "%" PRIu64, l->memory_max);
	if (write_to(cg->dirs[0], "memory.max", text, err, err_size) < 0)
		return -1;
	/* Guest memory goes to swap only where swap is accounted. */
	if (access_in(cg->dirs[0], "memory.swap.max") &&
	    write_to(cg->dirs[0], "memory.swap.max", "0", err, err_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "%u", l->pids_max);
	if (write_to(cg->dirs[0], "pids.max", text, err, err_size) < 0)
		return -1;
	if (l->cpu_quota_us == 0)
		return 0;
	snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64, l->cpu_quota_us, l->cpu_period_us);
	return write_to(cg->dirs[0], "cpu.max", text, err, err_size);
}

static int make_v1_one(struct jail_cgroup *cg, const char *controller, const char *name, char *err,
		       size_t err_size)
{
	char parent[128];
	char *dir = cg->dirs[cg->n++];

	snprintf(parent, sizeof(parent), "%s/%s/%s", CGROUP_ROOT, controller, PARENT);
	snprintf(dir, PATH_MAX, "%s/%.64s", parent, name);
	return make_dir(parent, err, err_size) < 0 || make_dir(dir, err, err_size) < 0 ? -1 : 0;
}

static int make_v1(struct jail_cgroup *cg, const char *name, const struct jail_limits *l, char *err,
		   size_t err_size)
{
	char text[64];

	cg->version = 1;
	if (make_v1_one(cg, "memory", name, err, err_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "%" PRIu64, l->memory_max);
	if (write_to(cg->dirs[0], "memory.limit_in_bytes", text, err, err_size) < 0 ||
	    make_v1_one(cg, "pids", name, err, err_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "%u", l->pids_max);
	if (write_to(cg->dirs[1], "pids.max", text, err, err_size) < 0 ||
	    make_v1_one(cg, "cpu", name, err, err_size) < 0)
		return -1;
	if (l->cpu_quota_us == 0)
		return 0;
	snprintf(text, sizeof(text), "%" PRIu64, l->cpu_period_us);
	if (write_to(cg->dirs[2], "cpu.cfs_period_us", text, err, err_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "%" PRIu64, l->cpu_quota_us);
	return write_to(cg->dirs[2], "cpu.cfs_quota_us", text, err, err_size);
}

/* A lispvm killed outright (SIGKILL) could not remove its cgroup; its
 * processes went with it.  The next jail removes such empty ones. */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	char path[PATH_MAX + 300];
	int pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (sscanf(e->d_name, "vm-%d", &pid) == 1 && kill(pid, 0) < 0 && errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
			rmdir(path); /* fails, and stays, while anything is in it */
		}
	closedir(d);
}

int jail_cgroup_make(struct jail_cgroup *cg, const char *name, const struct jail_limits *limits,
		     char *err, size_t err_size)
{
	int rc;

	*cg = (struct jail_cgroup){0};
	if (is_fs(CGROUP_ROOT, CGROUP2_SUPER_MAGIC) &&
	    has_controllers(CGROUP_ROOT "/cgroup.controllers"))
		rc = make_v2(cg, name, limits, err, err_size);
	else if (is_fs(CGROUP_ROOT "/memory", CGROUP_SUPER_MAGIC) &&
		 is_fs(CGROUP_ROOT "/pids", CGROUP_SUPER_MAGIC) &&
		 is_fs(CGROUP_ROOT "/cpu", CGROUP_SUPER_MAGIC))
		rc = make_v1(cg, name, limits, err, err_size);
	else {
		snprintf(err, err_size,
			 "--jail: no cgroup v2 with the memory, pids and cpu controllers at %s, "
			 "nor cgroup v1 hierarchies of them",
			 CGROUP_ROOT);
		return -1;
	}
	if (rc < 0) {
		jail_cgroup_remove(cg);
		return -1;
	}
	for (unsigned int i = 0; i < cg->n; i++) {
		char parent[PATH_MAX];

		snprintf(parent, sizeof(parent), "%s", cg->dirs[i]);
		*strrchr(parent, '/') = '\0';
		remove_stale(parent);
	}
	return 0;
}

int jail_cgroup_add(const struct jail_cgroup *cg, pid_t pid, char *err, size_t err_size)
{
	char text[32];

	snprintf(text, sizeof(text), "%d", (int)pid);
	for (unsigned int i = 0; i < cg->n; i++)
		if (write_to(cg->dirs[i], "cgroup.procs", text, err, err_size) < 0)
			return -1;
	return 0;
}

void jail_cgroup_remove(struct jail_cgroup *cg)
{
	for (unsigned int i = 0; i < cg->n; i++)
		rmdir(cg->dirs[i]);
	cg->n = 0;
	cg->version = 0;
}
