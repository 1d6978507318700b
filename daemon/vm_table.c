/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "vm_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "process_start.h"
#include "vm_files.h"
#include "vm_spec.h"
#include "vm_usage.h"

/* How long a monitor may take to say it started the VM. */
#define START_TIMEOUT_MS 30000
/* How often the VMs are checked for an end to announce. */
#define EXIT_WATCH_MS 100

struct vm_entry {
	char id[VM_ID_LEN + 1];
	char name[VM_NAME_MAX + 1]; /* "" when it has none */
	uid_t uid;
	double created;
	struct json_object *spec; /* what was asked */
	char dir[PATH_MAX];
	/* Its monitor is being started, outside the table's lock: the entry
	 * must stay (vm_table_remove refuses it). */
	bool starting;
	bool exit_seen; /* its "exited" event is out (or it had ended before) */
};

static struct {
	struct vm_table_config config;
	char vms_dir[PATH_MAX];
	struct vm_entry **entries;
	size_t n, max;
	pthread_mutex_t lock;
	volatile bool closing; /* the daemon is ending: nothing waits any more */
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- what the files say ---- */

static int64_t int_field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return obj != NULL && json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v)
								      : 0;
}

/* The VM's lispvm process, while it is the one the monitor started. */
static pid_t live_pid(struct json_object *state)
{
	pid_t pid = (pid_t)int_field(state, "pid");
	uint64_t start = (uint64_t)int_field(state, "pid_start");

	return pid > 0 && start != 0 && process_start_time(pid) == start ? pid : 0;
}

static bool monitor_alive(struct json_object *state)
{
	pid_t pid = (pid_t)int_field(state, "monitor_pid");

	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static void copy_field(struct json_object *to, struct json_object *from, const char *key,
		       const char *as)
{
	struct json_object *v;

	if (from != NULL && json_object_object_get_ex(from, key, &v))
		json_object_object_add(to, as, json_object_get(v));
	else
		json_object_object_add(to, as, NULL);
}

static struct json_object *describe(const struct vm_entry *e)
{
	struct json_object *d = json_object_new_object(), *labels, *spec;
	struct json_object *state = vm_files_read(e->dir, VM_FILE_STATE);
	struct json_object *end = vm_files_read(e->dir, VM_FILE_EXIT);
	pid_t pid = state != NULL ? live_pid(state) : 0;
	const char *s;

	if (end != NULL)
		s = "exited";
	else if (state == NULL)
		s = "starting";
	else if (pid != 0 || monitor_alive(state))
		s = "running";
	else
		s = "lost"; /* its monitor died before it could say how it ended */
	json_object_object_add(d, "id", json_object_new_string(e->id));
	json_object_object_add(d, "name", e->name[0] ? json_object_new_string(e->name) : NULL);
	json_object_object_add(d, "owner", json_object_new_int64((int64_t)e->uid));
	json_object_object_add(d, "state", json_object_new_string(s));
	json_object_object_add(d, "pid", pid != 0 ? json_object_new_int(pid) : NULL);
	json_object_object_add(d, "created", json_object_new_double(e->created));
	copy_field(d, state, "started", "started");
	copy_field(d, end, "ended", "ended");
	copy_field(d, end, "exit_code", "exit_code");
	copy_field(d, end, "signal", "signal");
	json_object_object_add(d, "usage", s[0] == 'r' && pid != 0 ? vm_usage_describe(pid) : NULL);
	/* Copies: the description goes to other threads, and json-c's
	 * reference counts are not atomic. */
	spec = NULL;
	json_object_deep_copy(e->spec, &spec, NULL);
	if (!json_object_object_get_ex(spec, "labels", &labels))
		labels = NULL;
	json_object_object_add(d, "labels",
			       labels != NULL ? json_object_get(labels) : json_object_new_object());
	json_object_object_add(d, "spec", spec);
	json_object_put(state);
	json_object_put(end);
	return d;
}

/* ---- the table ---- */

static bool may_see(uid_t uid, const struct vm_entry *e)
{
	return uid == 0 || uid == e->uid;
}

/* Under the lock: by ID first, then by name among uid's own. */
static struct vm_entry *find(uid_t uid, const char *ref)
{
	for (size_t i = 0; i < table.n; i++)
		if (strcmp(table.entries[i]->id, ref) == 0 && may_see(uid, table.entries[i]))
			return table.entries[i];
	for (size_t i = 0; i < table.n; i++)
		if (table.entries[i]->name[0] && strcmp(table.entries[i]->name, ref) == 0 &&
		    table.entries[i]->uid == uid)
			return table.entries[i];
	return NULL;
}

static int add_entry(struct vm_entry *e)
{
	if (table.n == table.max) {
		size_t max = table.max ? table.max * 2 : 64;
		struct vm_entry **entries = realloc(table.entries, max * sizeof(*entries));

		if (entries == NULL)
			return -1;
		table.entries = entries;
		table.max = max;
	}
	table.entries[table.n++] = e;
	return 0;
}

static void drop_entry(struct vm_entry *e)
{
	for (size_t i = 0; i < table.n; i++)
		if (table.entries[i] == e) {
			table.entries[i] = table.entries[--table.n];
			break;
		}
	json_object_put(e->spec);
	free(e);
}

/* A directory's files, then itself (a VM's directory has no subdirectories). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

/* ---- adoption ---- */

static struct vm_entry *entry_from_dir(const char *dir, const char *id)
{
	struct json_object *saved = vm_files_read(dir, VM_FILE_SPEC), *v;
	struct vm_entry *e;

	if (saved == NULL)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL || strlen(id) != VM_ID_LEN || !json_object_object_get_ex(saved, "spec", &v) ||
	    !json_object_is_type(v, json_type_object)) {
		free(e);
		json_object_put(saved);
		return NULL;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->dir, sizeof(e->dir), "%s", dir);
	e->spec = json_object_get(v);
	e->uid = (uid_t)int_field(saved, "uid");
	if (json_object_object_get_ex(saved, "created", &v))
		e->created = json_object_get_double(v);
	if (json_object_object_get_ex(e->spec, "name", &v))
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(v));
	json_object_put(saved);
	e->exit_seen = vm_table_ended(dir); /* ended while no daemon watched */
	return e;
}

static void adopt_all(void)
{
	DIR *d = opendir(table.vms_dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char dir[PATH_MAX];
		struct vm_entry *e;

		if (de->d_name[0] == '.' || snprintf(dir, sizeof(dir), "%s/%s", table.vms_dir,
						     de->d_name) >= (int)sizeof(dir))
			continue;
		e = entry_from_dir(dir, de->d_name);
		if (e != NULL && add_entry(e) < 0)
			drop_entry(e);
	}
	closedir(d);
}

static int make_dir(const char *path, mode_t mode, char *err, size_t err_size)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot make %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Publishes each VM's end (the "exited" event) shortly after its monitor
 * records it, for as long as the daemon serves. */
/* The IDs of the VMs whose end is still to announce (a copy, to look at
 * their files without the table's lock); NULL if none. */
static char (*unannounced(size_t *n))[VM_ID_LEN + 1]
{
	char(*ids)[VM_ID_LEN + 1] = NULL;

	*n = 0;
	pthread_mutex_lock(&table.lock);
	if (table.n > 0)
		ids = calloc(table.n, sizeof(*ids));
	for (size_t i = 0; ids != NULL && i < table.n; i++)
		if (!table.entries[i]->starting && !table.entries[i]->exit_seen)
			memcpy(ids[(*n)++], table.entries[i]->id, VM_ID_LEN + 1);
	pthread_mutex_unlock(&table.lock);
	return ids;
}

/* Announces that the VM with this ID ended, if it is still there and not
 * announced (remove may have done both meanwhile). */
static void announce_exit(const char *id)
{
	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		struct vm_entry *e = table.entries[i];
		struct json_object *d;

		if (strcmp(e->id, id) != 0 || e->exit_seen)
			continue;
		e->exit_seen = true;
		d = describe(e);
		events_publish(e->uid, "exited", d);
		json_object_put(d);
	}
	pthread_mutex_unlock(&table.lock);
}

/* Publishes each VM's end (the "exited" event) shortly after its monitor
 * records it, for as long as the daemon serves.  The files are read
 * without the table's lock, which requests need. */
static void *watch_exits(void *unused)
{
	(void)unused;
	while (!table.closing) {
		size_t n;
		char(*ids)[VM_ID_LEN + 1] = unannounced(&n);

		for (size_t i = 0; i < n; i++) {
			char dir[PATH_MAX + VM_ID_LEN + 2];

			snprintf(dir, sizeof(dir), "%s/%s", table.vms_dir, ids[i]);
			if (vm_table_ended(dir))
				announce_exit(ids[i]);
		}
		free(ids);
		nanosleep(&(struct timespec){.tv_nsec = EXIT_WATCH_MS * 1000000L}, NULL);
	}
	return NULL;
}

int vm_table_open(const struct vm_table_config *config, char *err, size_t err_size)
{
	pthread_t watcher;

	table.config = *config;
	if (snprintf(table.vms_dir, sizeof(table.vms_dir), "%s/vms", config->state_dir) >=
	    (int)sizeof(table.vms_dir)) {
		snprintf(err, err_size, "state directory path too long");
		return -1;
	}
	if (make_dir(config->state_dir, 0755, err, err_size) < 0 ||
	    make_dir(table.vms_dir, 0711, err, err_size) < 0)
		return -1;
	vm_usage_init(config->lispvm);
	adopt_all();
	if (pthread_create(&watcher, NULL, watch_exits, NULL) != 0 ||
	    pthread_detach(watcher) != 0) {
		snprintf(err, err_size, "cannot start the exit watcher");
		return -1;
	}
	return 0;
}

/* ---- creation ---- */

static void new_id(char *id)
{
	uint8_t bytes[VM_ID_LEN / 2];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		for (size_t i = 0; i < sizeof(bytes);
		     i++) /* never: getrandom blocks until it can */
			bytes[i] = (uint8_t)rand();
	for (size_t i = 0; i < sizeof(bytes); i++)
		sprintf(id + 2 * i, "%02x", bytes[i]);
}

/* Variables of the daemon's environment that are about the daemon (its
 * service manager's), never the VM's. */
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

	for (size_t i = 0; names[i] != NULL; i++)
		if (strncmp(var, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* Made before fork: the daemon's environment (the VM runs as the
 * daemon's user), without what belongs to the daemon alone. */
const char **vm_table_environment(void)
{
	extern char **environ;
	size_t n = 0;
	const char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	n = 0;
	for (size_t i = 0; environ[i] != NULL; i++)
		if (!daemon_only(environ[i]))
			env[n++] = environ[i];
	return env;
}

/* The monitor, detached from the daemon (a grandchild in its own session),
 * so that it outlives it; ready is where it reports.  Between fork and
 * exec only async-signal-safe calls: the daemon has threads. */
static void exec_monitor(const char *const *monitor, const char *const *env, int ready)
{
	int null = open("/dev/null", O_RDWR);
	sigset_t none;

	if (setsid() < 0 || fork() != 0)
		_exit(0);
	/* The daemon's threads block SIGTERM and SIGINT; the VM takes them. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    dup2(ready, 3) < 0 || chdir("/") < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	execve("/proc/self/exe", (char *const *)monitor, (char *const *)env);
	dprintf(3, "failed cannot run the monitor: %s\n", strerror(errno));
	_exit(1);
}

/* What the monitor said: 0 once it started the VM, else -1 with why. */
static int await_start(int ready, char *err, size_t err_size)
{
	char line[512] = "";
	size_t len = 0;
	struct pollfd p = {.fd = ready, .events = POLLIN};

	while (len < sizeof(line) - 1) {
		ssize_t n;

		if (poll(&p, 1, START_TIMEOUT_MS) <= 0) {
			snprintf(err, err_size, "the VM's monitor did not start it in %d s",
				 START_TIMEOUT_MS / 1000);
			return -1;
		}
		n = read(ready, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "started ", 8) == 0)
		return 0;
	snprintf(err, err_size, "%s",
		 strncmp(line, "failed ", 7) == 0 ? line + 7 : "the VM's monitor failed");
	return -1;
}

/* lispvmd --monitor DIR CAP 3 -- the VM's command. */
static void monitor_argv(const struct vm_entry *e, const char **argv, const char **monitor,
			 char *cap, size_t cap_size)
{
	size_t n = 0;

	snprintf(cap, cap_size, "%" PRIu64, table.config.log_cap);
	monitor[n++] = "lispvmd";
	monitor[n++] = "--monitor";
	monitor[n++] = e->dir;
	monitor[n++] = cap;
	monitor[n++] = "3";
	monitor[n++] = "--";
	for (size_t i = 0; argv[i] != NULL && n < VM_SPEC_MAX_ARGV + 7; i++)
		monitor[n++] = argv[i];
	monitor[n] = NULL;
}

static int start_monitor(const struct vm_entry *e, char *err, size_t err_size)
{
	const char *argv[VM_SPEC_MAX_ARGV], *monitor[VM_SPEC_MAX_ARGV + 8], **env;
	char **owned, cap[32];
	int ready[2], status, rc;
	pid_t child;

	if (vm_spec_argv(e->spec, table.config.lispvm, e->name[0] ? e->name : e->id,
			 table.config.quota.max_memory != 0 ? quota_spec_memory(e->spec) : 0, argv,
			 VM_SPEC_MAX_ARGV, &owned) < 0) {
		snprintf(err, err_size, "the request makes a command line too long");
		return -1;
	}
	monitor_argv(e, argv, monitor, cap, sizeof(cap));
	env = vm_table_environment();
	if (env == NULL || pipe2(ready, O_CLOEXEC) < 0) {
		vm_spec_free_argv(owned);
		free(env);
		snprintf(err, err_size, "cannot start the VM: %s", strerror(errno));
		return -1;
	}
	child = fork();
	if (child == 0)
		exec_monitor(monitor, env, ready[1]);
	close(ready[1]);
	vm_spec_free_argv(owned);
	free(env);
	if (child < 0) {
		close(ready[0]);
		snprintf(err, err_size, "cannot start the VM: %s", strerror(errno));
		return -1;
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	rc = await_start(ready[0], err, err_size);
	close(ready[0]);
	return rc;
}

static bool name_taken(uid_t uid, const char *name)
{
	for (size_t i = 0; i < table.n; i++)
		if (table.entries[i]->uid == uid && strcmp(table.entries[i]->name, name) == 0)
			return true;
	return false;
}

/* Under the lock: 0 when uid may start one more VM from spec, else 403. */
static unsigned int within_quota(uid_t uid, struct json_object *spec, char *err, size_t err_size)
{
	size_t vms = 0;
	uint64_t in_use = 0;

	for (size_t i = 0; i < table.n; i++) {
		const struct vm_entry *e = table.entries[i];

		if (e->uid != uid || (!e->starting && vm_table_ended(e->dir)))
			continue;
		vms++;
		in_use = quota_add(in_use, quota_spec_memory(e->spec));
	}
	return quota_admit(&table.config.quota, vms, in_use, quota_spec_memory(spec), err,
			   err_size);
}

/* Under the lock: a new entry with its directory and spec.json. */
static unsigned int reserve(uid_t uid, struct json_object *spec, struct vm_entry **out, char *err,
			    size_t err_size)
{
	struct vm_entry *e = calloc(1, sizeof(*e));
	struct json_object *saved, *v;
	unsigned int status;

	if (e == NULL) {
		snprintf(err, err_size, "out of memory");
		return 500;
	}
	if (json_object_object_get_ex(spec, "name", &v))
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(v));
	if (e->name[0] && name_taken(uid, e->name)) {
		snprintf(err, err_size, "you have a VM named %s already", e->name);
		free(e);
		return 409;
	}
	if ((status = within_quota(uid, spec, err, err_size)) != 0) {
		free(e);
		return status;
	}
	new_id(e->id);
	e->uid = uid;
	e->starting = true;
	e->created = vm_files_now();
	/* A copy of its own: the request's body is put by its connection's
	 * thread, and json-c's reference counts are not atomic. */
	e->spec = NULL;
	if (json_object_deep_copy(spec, &e->spec, NULL) < 0) {
		snprintf(err, err_size, "out of memory");
		free(e);
		return 500;
	}
	if (snprintf(e->dir, sizeof(e->dir), "%s/%s", table.vms_dir, e->id) >=
	    (int)sizeof(e->dir)) {
		snprintf(err, err_size, "the state directory's path is too long");
		json_object_put(e->spec);
		free(e);
		return 500;
	}
	saved = json_object_new_object();
	json_object_object_add(saved, "id", json_object_new_string(e->id));
	json_object_object_add(saved, "uid", json_object_new_int64((int64_t)uid));
	json_object_object_add(saved, "created", json_object_new_double(e->created));
	json_object_object_add(saved, "spec", json_object_get(spec));
	if (mkdir(e->dir, 0700) < 0 || vm_files_write(e->dir, VM_FILE_SPEC, saved) < 0 ||
	    add_entry(e) < 0) {
		snprintf(err, err_size, "cannot record the VM in %s: %s", e->dir, strerror(errno));
		json_object_put(saved);
		remove_dir(e->dir);
		json_object_put(e->spec);
		free(e);
		return 500;
	}
	json_object_put(saved);
	*out = e;
	return 0;
}

unsigned int vm_table_create(uid_t uid, struct json_object *spec, struct json_object **out,
			     char *err, size_t err_size)
{
	struct vm_entry *e;
	unsigned int status;

	pthread_mutex_lock(&table.lock);
	status = reserve(uid, spec, &e, err, err_size);
	pthread_mutex_unlock(&table.lock);
	if (status != 0)
		return status;
	/* Outside the lock: a slow start holds up no other request. */
	if (start_monitor(e, err, err_size) < 0) {
		pthread_mutex_lock(&table.lock);
		remove_dir(e->dir);
		drop_entry(e);
		pthread_mutex_unlock(&table.lock);
		return 500;
	}
	pthread_mutex_lock(&table.lock);
	e->starting = false;
	*out = describe(e);
	events_publish(uid, "started", *out);
	pthread_mutex_unlock(&table.lock);
	return 0;
}

/* ---- the rest ---- */

struct json_object *vm_table_describe(uid_t uid, const char *ref)
{
	struct vm_entry *e;
	struct json_object *d = NULL;

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e != NULL)
		d = describe(e);
	pthread_mutex_unlock(&table.lock);
	return d;
}

static bool has_label(struct json_object *d, const char *label)
{
	struct json_object *labels, *v;
	const char *eq = strchr(label, '=');
	char key[256];

	if (!json_object_object_get_ex(d, "labels", &labels))
		return false;
	if (eq == NULL)
		return json_object_object_get_ex(labels, label, &v);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - label), label);
	return json_object_object_get_ex(labels, key, &v) &&
	       strcmp(json_object_get_string(v), eq + 1) == 0;
}

struct json_object *vm_table_list(uid_t uid, const char *state, const char *label)
{
	struct json_object *list = json_object_new_array(), *body = json_object_new_object();

	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		struct json_object *d, *s;

		if (!may_see(uid, table.entries[i]))
			continue;
		d = describe(table.entries[i]);
		json_object_object_get_ex(d, "state", &s);
		if ((state != NULL && strcmp(json_object_get_string(s), state) != 0) ||
		    (label != NULL && !has_label(d, label)))
			json_object_put(d);
		else
			json_object_array_add(list, d);
	}
	pthread_mutex_unlock(&table.lock);
	json_object_object_add(body, "vms", list);
	return body;
}

unsigned int vm_table_signal(uid_t uid, const char *ref, int sig)
{
	struct vm_entry *e;
	struct json_object *state;
	unsigned int status = 0;
	pid_t pid;

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e == NULL)
		status = 404;
	else {
		state = vm_files_read(e->dir, VM_FILE_STATE);
		pid = state != NULL ? live_pid(state) : 0;
		if (pid == 0 || kill(pid, sig) < 0)
			status = 409;
		json_object_put(state);
	}
	pthread_mutex_unlock(&table.lock);
	return status;
}

bool vm_table_ended(const char *dir)
{
	struct json_object *end = vm_files_read(dir, VM_FILE_EXIT), *state;
	bool ended = end != NULL;

	json_object_put(end);
	if (ended)
		return true;
	state = vm_files_read(dir, VM_FILE_STATE);
	/* A VM whose monitor died is as ended as it will get. */
	ended = state != NULL && live_pid(state) == 0 && !monitor_alive(state);
	json_object_put(state);
	return ended;
}

unsigned int vm_table_dir(uid_t uid, const char *ref, char *dir, size_t size)
{
	struct vm_entry *e;

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e != NULL)
		snprintf(dir, size, "%s", e->dir);
	pthread_mutex_unlock(&table.lock);
	return e == NULL ? 404 : 0;
}

unsigned int vm_table_wait(uid_t uid, const char *ref, int timeout_ms, bool (*gone_fn)(void *),
			   void *arg)
{
	char dir[PATH_MAX];
	int waited = 0;

	if (vm_table_dir(uid, ref, dir, sizeof(dir)) != 0)
		return 404;
	for (;;) {
		if (vm_table_ended(dir))
			return 0;
		if (table.closing)
			return 503;
		if (gone_fn != NULL && gone_fn(arg))
			return 499;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return 408;
		nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
		waited += 50;
	}
}

unsigned int vm_table_remove(uid_t uid, const char *ref)
{
	struct vm_entry *e;
	unsigned int status = 0;

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e == NULL)
		status = 404;
	else if (e->starting || !vm_table_ended(e->dir))
		status = 409;
	else {
		struct json_object *d = describe(e);

		if (!e->exit_seen) /* it ended since the watcher last looked */
			events_publish(e->uid, "exited", d);
		events_publish(e->uid, "removed", d);
		json_object_put(d);
		remove_dir(e->dir);
		drop_entry(e);
	}
	pthread_mutex_unlock(&table.lock);
	return status;
}

const char *vm_table_lispvm(void)
{
	return table.config.lispvm;
}

/* Under the lock: what the entry itself says. */
static void fill_target(const struct vm_entry *e, struct vm_target *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->id, e->id, sizeof(t->id));
	snprintf(t->lispvm_name, sizeof(t->lispvm_name), "%s", e->name[0] ? e->name : e->id);
	t->uid = e->uid;
	t->attachable = vm_spec_attachable(e->spec);
}

/* Its lispvm process, from its files (read without the lock). */
static pid_t running_pid(const char *id)
{
	char dir[PATH_MAX + VM_ID_LEN + 2];
	struct json_object *state;
	pid_t pid = 0;

	snprintf(dir, sizeof(dir), "%s/%s", table.vms_dir, id);
	state = vm_files_read(dir, VM_FILE_STATE);
	if (state != NULL && !vm_table_ended(dir))
		pid = live_pid(state);
	json_object_put(state);
	return pid;
}

unsigned int vm_table_target(uid_t uid, const char *ref, struct vm_target *out)
{
	struct vm_entry *e;

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e != NULL)
		fill_target(e, out);
	pthread_mutex_unlock(&table.lock);
	if (e == NULL)
		return 404;
	out->pid = running_pid(out->id);
	return 0;
}

struct vm_target *vm_table_attachable(size_t *n)
{
	struct vm_target *targets = NULL;
	size_t listed = 0;

	*n = 0;
	pthread_mutex_lock(&table.lock);
	if (table.n > 0)
		targets = calloc(table.n, sizeof(*targets));
	for (size_t i = 0; targets != NULL && i < table.n; i++) {
		if (table.entries[i]->starting || table.entries[i]->exit_seen ||
		    !vm_spec_attachable(table.entries[i]->spec))
			continue;
		fill_target(table.entries[i], &targets[listed++]);
	}
	pthread_mutex_unlock(&table.lock);
	/* The files are read without the lock, which requests need. */
	for (size_t i = 0; i < listed; i++)
		if ((targets[i].pid = running_pid(targets[i].id)) != 0)
			targets[(*n)++] = targets[i];
	if (*n == 0) {
		free(targets);
		return NULL;
	}
	return targets;
}

void vm_table_publish(const char *id, const char *type, const char *key, struct json_object *extra)
{
	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		struct json_object *d;

		if (strcmp(table.entries[i]->id, id) != 0)
			continue;
		d = describe(table.entries[i]);
		events_publish_extra(table.entries[i]->uid, type, d, key, extra);
		extra = NULL;
		json_object_put(d);
		break;
	}
	pthread_mutex_unlock(&table.lock);
	json_object_put(extra);
}

void vm_table_close(void)
{
	table.closing = true;
}

bool vm_table_closing(void)
{
	return table.closing;
}
