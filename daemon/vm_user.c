/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "vm_user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool vm_user_unmapped(uid_t caller)
{
	static unsigned int overflow; /* 0: not read yet */
	FILE *f;

	if (__atomic_load_n(&overflow, __ATOMIC_RELAXED) == 0) {
		unsigned int v = 65534;

		if ((f = fopen("/proc/sys/kernel/overflowuid", "re")) != NULL) {
			if (fscanf(f, "%u", &v) != 1)
				v = 65534;
			fclose(f);
		}
		__atomic_store_n(&overflow, v, __ATOMIC_RELAXED);
	}
	return (unsigned int)caller == __atomic_load_n(&overflow, __ATOMIC_RELAXED);
}

static bool owner_set;
static uid_t owner_uid;

void vm_user_set_owner(uid_t owner)
{
	owner_uid = owner;
	owner_set = true;
}

static const char *runtime_root;

void vm_user_set_runtime_root(const char *root)
{
	runtime_root = root;
}

uid_t vm_user_owner(void)
{
	return owner_set ? owner_uid : geteuid();
}

uid_t vm_user_runs_as(uid_t caller)
{
	return vm_user_owner() == 0 ? caller : vm_user_owner();
}

/* Whether var (NAME=VALUE) is one of names (each "NAME=", NULL-ended). */
static bool named(const char *var, const char *const *names)
{
	for (size_t i = 0; names[i] != NULL; i++)
		if (strncmp(var, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* Variables of the daemon's environment that are about the daemon (its
 * service manager's), never a VM's. */
static bool daemon_only(const char *var)
{
	static const char *const names[] = {"NOTIFY_SOCKET=",
					    "LISTEN_FDS=",
					    "LISTEN_PID=",
					    "LISTEN_FDNAMES=",
					    "CREDENTIALS_DIRECTORY=",
					    "INVOCATION_ID=",
					    "WATCHDOG_PID=",
					    "WATCHDOG_USEC=",
					    "JOURNAL_STREAM=",
					    NULL};

	return named(var, names);
}

/* What the daemon's environment says of the machine rather than of its
 * user: another user's VMs get these too. */
static bool about_the_machine(const char *var)
{
	static const char *const names[] = {
		"PATH=", "LANG=",	    "LC_ALL=",	      "LC_CTYPE=",
		"TZ=",	 "LISPVM_MACHINE=", "LISPVM_KERNEL=", NULL};

	return named(var, names);
}

static int own_environment(struct vm_user *u)
{
	extern char **environ;
	size_t n = 0;

	while (environ[n] != NULL)
		n++;
	if ((u->env = calloc(n + 1, sizeof(*u->env))) == NULL)
		return -1;
	n = 0;
	for (size_t i = 0; environ[i] != NULL; i++)
		if (!daemon_only(environ[i]))
			u->env[n++] = environ[i];
	return 0;
}

/* Appends NAME=VALUE to the user's strings and environment. */
static void add_var(struct vm_user *u, size_t *n, size_t *used, const char *name, const char *value)
{
	size_t room = sizeof(u->strings) - *used;
	int len = snprintf(u->strings + *used, room, "%s=%s", name, value);

	if (len < 0 || (size_t)len >= room)
		return;
	u->env[(*n)++] = u->strings + *used;
	*used += (size_t)len + 1;
}

/* The daemon's runtime directory for u under runtime_root, made theirs
 * if it is not there: 0, or -1 (they get none). */
static int machine_runtime_dir(const struct vm_user *u, char *dir, size_t size)
{
	struct stat st;
	int n = snprintf(dir, size, "%s/%u", runtime_root, (unsigned int)u->uid);

	if (n < 0 || (size_t)n >= size)
		return -1;
	if (mkdir(runtime_root, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(dir, 0700) == 0 && chown(dir, u->uid, u->gid) < 0) {
		rmdir(dir);
		return -1;
	}
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u->uid ? 0 : -1;
}

static int their_environment(struct vm_user *u, const struct passwd *pw)
{
	extern char **environ;
	char runtime[PATH_MAX];
	size_t n = 0, used = 0, count = 0;
	struct stat st;

	while (environ[count] != NULL)
		count++;
	if ((u->env = calloc(count + 6, sizeof(*u->env))) == NULL)
		return -1;
	add_var(u, &n, &used, "HOME", pw->pw_dir);
	add_var(u, &n, &used, "USER", pw->pw_name);
	add_var(u, &n, &used, "LOGNAME", pw->pw_name);
	add_var(u, &n, &used, "SHELL", pw->pw_shell);
	/* Their session's runtime directory, where 'lispvm attach' looks for
	 * their VMs; without one lispvm uses /tmp/lispvm-UID, as for them. */
	snprintf(runtime, sizeof(runtime), "/run/user/%u", (unsigned int)u->uid);
	if (runtime_root != NULL
		    ? machine_runtime_dir(u, runtime, sizeof(runtime)) == 0
		    : lstat(runtime, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u->uid)
		add_var(u, &n, &used, "XDG_RUNTIME_DIR", runtime);
	for (size_t i = 0; environ[i] != NULL; i++)
		if (about_the_machine(environ[i]))
			u->env[n++] = environ[i];
	return 0;
}

static int groups_of(struct vm_user *u, const struct passwd *pw, char *err, size_t err_size)
{
	u->n_groups = VM_USER_MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &u->n_groups) < 0) {
		snprintf(err, err_size, "user %s is in more than %d groups", pw->pw_name,
			 VM_USER_MAX_GROUPS);
		return -1;
	}
	return 0;
}

struct vm_user *vm_user_open(uid_t caller, char *err, size_t err_size)
{
	struct vm_user *u = calloc(1, sizeof(*u));
	struct passwd pwbuf, *pw = NULL;
	char *buf = NULL;
	int rc = ERANGE;

	if (u == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	u->uid = vm_user_runs_as(caller);
	u->gid = getegid();
	u->daemons_own = u->uid == geteuid();
	if (u->daemons_own) {
		if (own_environment(u) == 0)
			return u;
		snprintf(err, err_size, "out of memory");
		free(u);
		return NULL;
	}
	for (size_t size = 4096; rc == ERANGE && size <= (1 << 20); size *= 4) {
		char *bigger = realloc(buf, size);

		if (bigger == NULL)
			break;
		buf = bigger;
		rc = getpwuid_r(u->uid, &pwbuf, buf, size, &pw);
	}
	if (pw == NULL) {
		free(buf);
		snprintf(err, err_size,
			 "uid %u has no account here (%s): lispvmd runs VMs as their caller's "
			 "user",
			 (unsigned int)u->uid, rc != 0 ? strerror(rc) : "no passwd entry");
		free(u);
		return NULL;
	}
	u->gid = pw->pw_gid;
	if (groups_of(u, pw, err, err_size) < 0) {
		free(buf);
		free(u);
		return NULL;
	}
	rc = their_environment(u, pw);
	free(buf);
	if (rc < 0) {
		snprintf(err, err_size, "out of memory");
		free(u);
		return NULL;
	}
	return u;
}

void vm_user_close(struct vm_user *u)
{
	if (u == NULL)
		return;
	free(u->env);
	free(u);
}

/* The child of a fork has one thread, so glibc's change of every
 * thread's credentials is the system call alone. */
int vm_user_become(const struct vm_user *u)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2];

	if (u->daemons_own)
		return 0;
	/* EINVAL: a kernel without ambient capabilities has none to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	if (setgroups((size_t)u->n_groups, u->groups) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
		return -1;
	/* Root's uid or capabilities would be kept by what the calls above
	 * do not change (a failure they missed, securebits). */
	if (geteuid() != u->uid || getuid() != u->uid || syscall(SYS_capget, &header, caps) < 0 ||
	    caps[0].effective || caps[0].permitted || caps[1].effective || caps[1].permitted) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

void vm_user_format(const struct vm_user *u, char *out, size_t size)
{
	size_t used;

	if (u->daemons_own) {
		snprintf(out, size, "-");
		return;
	}
	used = (size_t)snprintf(out, size, "%u:%u:", (unsigned int)u->uid, (unsigned int)u->gid);
	for (int i = 0; i < u->n_groups && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%u", i ? "," : "",
					 (unsigned int)u->groups[i]);
}

static int parse_id(const char **p, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(*p, &end, 10);
	if (end == *p || errno != 0 || v >= (unsigned long)(uid_t)-1)
		return -1;
	*out = (unsigned int)v;
	*p = end;
	return 0;
}

int vm_user_parse(const char *word, struct vm_user *u)
{
	unsigned int uid, gid, group;

	memset(u, 0, sizeof(*u));
	if (strcmp(word, "-") == 0) {
		u->daemons_own = true;
		return 0;
	}
	if (parse_id(&word, &uid) < 0 || *word++ != ':' || parse_id(&word, &gid) < 0 ||
	    *word++ != ':')
		return -1;
	u->uid = uid;
	u->gid = gid;
	while (*word != '\0') {
		if (u->n_groups == VM_USER_MAX_GROUPS || parse_id(&word, &group) < 0 ||
		    (*word != ',' && *word != '\0'))
			return -1;
		u->groups[u->n_groups++] = group;
		if (*word == ',')
			word++;
	}
	return 0;
}
