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
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "monotonic_time.h"
#include "process_start.h"
#include "vm_files.h"
#include "vm_spec.h"
#include "vm_usage.h"
#include "vm_user.h"

/* How long a monitor may take to say it started the VM. */
#define START_TIMEOUT_MS 30000
/* The exit watcher wakes on a monitor's end (its pidfd) or a new VM; it
 * also looks at every VM this often, for an end no pidfd told (a monitor
 * whose pidfd could not be had, or that died before the VM). */
#define EXIT_RESCAN_MS 1000
/* A waiter looks whether its caller left this often. */
#define WAITER_CHECK_MS 1000
/* Monitors watched by pidfd at once (more are seen by the rescan). */
#define EXIT_WATCH_MAX 1024

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
	/* A warm VM of the pool for this snapshot, waiting for a program: the
	 * daemon's own, seen by no one (NULL: a user's VM). */
	char *pool;
	char *claimed_from; /* pool, while a create hands it a program */
	bool retiring;	    /* a warm VM the pool no longer needs: killed */
	bool from_pool;	    /* it was a warm VM */
};

static struct {
	struct vm_table_config config;
	char vms_dir[PATH_MAX];
	struct vm_entry **entries;
	size_t n, max;
	pthread_mutex_t lock;
	volatile bool closing; /* the daemon is ending: nothing waits any more */
	/* Counts announced ends (and the daemon's end): waiters sleep on
	 * `ended` until it moves. */
	uint64_t ends;
	pthread_cond_t ended;
	int wake_watcher; /* an eventfd: a VM started or was adopted */
} table = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .ended = PTHREAD_COND_INITIALIZER, .wake_watcher = -1};

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

/* Sends sig to the VM's lispvm process through a pidfd taken before its
 * start time is checked: a pid reused in between is never signalled.
 * 0, or -1. */
static int signal_vm(struct json_object *state, int sig)
{
	pid_t pid = (pid_t)int_field(state, "pid");
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1, rc = -1;

	if (pidfd < 0)
		return -1;
	if (live_pid(state) == pid)
		rc = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	close(pidfd);
	return rc;
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
	json_object_object_add(d, "from_pool", json_object_new_boolean(e->from_pool));
	/* A warm VM's lispvm started before anyone asked: its program
	 * started when it was taken, which is when it was created. */
	if (e->from_pool)
		json_object_object_add(d, "started", json_object_new_double(e->created));
	else
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
	return e->pool == NULL && (uid == 0 || uid == e->uid);
}

/* Under the lock: by ID first, then by name among uid's own. */
static struct vm_entry *find(uid_t uid, const char *ref)
{
	for (size_t i = 0; i < table.n; i++)
		if (strcmp(table.entries[i]->id, ref) == 0 && may_see(uid, table.entries[i]))
			return table.entries[i];
	for (size_t i = 0; i < table.n; i++)
		if (table.entries[i]->name[0] && strcmp(table.entries[i]->name, ref) == 0 &&
		    table.entries[i]->uid == uid && table.entries[i]->pool == NULL)
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
	free(e->pool);
	free(e->claimed_from);
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

/* What spec.json says of the entry. */
static struct json_object *saved_entry(const struct vm_entry *e)
{
	struct json_object *saved = json_object_new_object();

	json_object_object_add(saved, "id", json_object_new_string(e->id));
	json_object_object_add(saved, "uid", json_object_new_int64((int64_t)e->uid));
	json_object_object_add(saved, "created", json_object_new_double(e->created));
	json_object_object_add(saved, "spec", json_object_get(e->spec));
	if (e->pool != NULL)
		json_object_object_add(saved, "pool", json_object_new_string(e->pool));
	if (e->from_pool)
		json_object_object_add(saved, "from_pool", json_object_new_boolean(true));
	if (e->claimed_from != NULL)
		json_object_object_add(saved, "claimed_from",
				       json_object_new_string(e->claimed_from));
	return saved;
}

/* ---- adoption ---- */

/* Under the lock: spec.json as the entry is now.  A daemon that dies while
 * it hands a warm VM over leaves "claimed_from" there: the next one takes
 * the VM for the caller's if its socket is gone (it took the program),
 * else for a warm VM still. */
static void rewrite_spec(const struct vm_entry *e)
{
	struct json_object *saved = saved_entry(e);

	vm_files_write(e->dir, VM_FILE_SPEC, saved);
	json_object_put(saved);
}

static bool pool_ready(const struct vm_entry *e);

/* A VM a daemon was handing over when it died: the caller's if it took
 * its program (its socket is gone), else a warm VM again. */
static void adopt_claimed(struct vm_entry *e, const char *pool)
{
	if (!pool_ready(e)) {
		e->from_pool = true;
		rewrite_spec(e);
		return;
	}
	free(e->pool);
	e->pool = strdup(pool);
	e->uid = vm_user_owner();
	e->name[0] = '\0';
	json_object_put(e->spec);
	e->spec = json_object_new_object();
	json_object_object_add(e->spec, "snapshot", json_object_new_string(pool));
	rewrite_spec(e);
}

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
	if (json_object_object_get_ex(saved, "pool", &v) &&
	    json_object_is_type(v, json_type_string))
		e->pool = strdup(json_object_get_string(v));
	e->from_pool =
		json_object_object_get_ex(saved, "from_pool", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(saved, "claimed_from", &v) &&
	    json_object_is_type(v, json_type_string))
		adopt_claimed(e, json_object_get_string(v));
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

/* Called with the table's lock: waiters look again. */
static void ends_moved(void)
{
	table.ends++;
	pthread_cond_broadcast(&table.ended);
}

/* The watcher looks at new VMs (a create or an adoption finished). */
static void wake_exit_watcher(void)
{
	uint64_t one = 1;

	if (table.wake_watcher >= 0 && write(table.wake_watcher, &one, sizeof(one)) < 0)
		return; /* the counter is full: the watcher is awake anyway */
}

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
		if (!table.entries[i]->starting && !table.entries[i]->exit_seen &&
		    table.entries[i]->pool == NULL)
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
	ends_moved();
	pthread_mutex_unlock(&table.lock);
}

/* A VM whose end the watcher waits for: its monitor's pidfd, readable
 * once the monitor exits, which it does right after it records the end
 * (-1: none to be had; the rescan sees that VM). */
struct watched {
	char id[VM_ID_LEN + 1];
	int pidfd;
	bool fresh; /* its pidfd is new: the monitor may have ended before */
};

static void vm_dir_of(const char *id, char *dir, size_t size)
{
	snprintf(dir, size, "%s/%s", table.vms_dir, id);
}

/* A pidfd for the monitor its state file names, or -1. */
static int monitor_pidfd(const char *id)
{
	char dir[PATH_MAX + VM_ID_LEN + 2];
	struct json_object *state;
	pid_t pid;

	vm_dir_of(id, dir, sizeof(dir));
	state = vm_files_read(dir, VM_FILE_STATE);
	pid = (pid_t)int_field(state, "monitor_pid");
	json_object_put(state);
	return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1; /* close-on-exec */
}

static const struct watched *was_watched(const struct watched *w, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i].id, id) == 0)
			return &w[i];
	return NULL;
}

/* The VMs to watch now, their pidfds kept from the last round (those no
 * longer wanted closed): *n of them, or NULL. */
static struct watched *rewatch(struct watched *old, size_t n_old, size_t *n)
{
	size_t n_ids;
	char(*ids)[VM_ID_LEN + 1] = unannounced(&n_ids);
	struct watched *w = calloc(n_ids ? n_ids : 1, sizeof(*w));

	*n = w != NULL ? n_ids : 0;
	for (size_t i = 0; i < *n; i++) {
		const struct watched *was = was_watched(old, n_old, ids[i]);

		memcpy(w[i].id, ids[i], VM_ID_LEN + 1);
		w[i].fresh = was == NULL && i < EXIT_WATCH_MAX;
		w[i].pidfd = was != NULL ? was->pidfd : w[i].fresh ? monitor_pidfd(ids[i]) : -1;
	}
	for (size_t i = 0; i < n_old; i++)
		if (old[i].pidfd >= 0 && (w == NULL || !was_watched(w, *n, old[i].id)))
			close(old[i].pidfd);
	free(old);
	free(ids);
	return w;
}

/* Announces w's end if it came: true if it did. */
static bool check_end(const struct watched *w)
{
	char dir[PATH_MAX + VM_ID_LEN + 2];

	vm_dir_of(w->id, dir, sizeof(dir));
	if (!vm_table_ended(dir))
		return false;
	announce_exit(w->id);
	return true;
}

static void drain_eventfd(int fd)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return; /* nothing to drain */
}

/* Waits for a monitor to end, a new VM or the rescan's time; then
 * announces what ended: on a monitor's pidfd, that VM (a monitor gone
 * with its VM still running is left to the rescan, its pidfd closed); on
 * the rescan, every VM without a pidfd.  A new pidfd may be of a monitor
 * that had ended already (or of a later process that took its pid), so
 * its VM is looked at once first. */
static void await_ends(struct watched *w, size_t n, struct pollfd *p)
{
	bool rescan;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (w[i].fresh)
			check_end(&w[i]);

	p[k++] = (struct pollfd){.fd = table.wake_watcher, .events = POLLIN};
	for (size_t i = 0; i < n && k <= EXIT_WATCH_MAX; i++)
		if (w[i].pidfd >= 0)
			p[k++] = (struct pollfd){.fd = w[i].pidfd, .events = POLLIN};
	rescan = poll(p, k, EXIT_RESCAN_MS) == 0;
	if (p[0].revents)
		drain_eventfd(table.wake_watcher);
	for (size_t i = 0, j = 1; i < n; i++) {
		bool fired = w[i].pidfd >= 0 && j < k && p[j++].revents != 0;

		if (((rescan && w[i].pidfd < 0) || fired) && !check_end(&w[i]) && fired) {
			close(w[i].pidfd);
			w[i].pidfd = -1;
		}
	}
}

/* Publishes each VM's end (the "exited" event) as its monitor records
 * it, for as long as the daemon serves.  The files are read without the
 * table's lock, which requests need. */
static void *watch_exits(void *unused)
{
	struct pollfd *p = calloc(EXIT_WATCH_MAX + 1, sizeof(*p));
	struct watched *w = NULL;
	size_t n = 0;

	(void)unused;
	while (!table.closing) {
		w = rewatch(w, n, &n);
		if (p == NULL || w == NULL) { /* no memory: look again later */
			nanosleep(&(struct timespec){.tv_nsec = EXIT_RESCAN_MS * 1000000L}, NULL);
			continue;
		}
		await_ends(w, n, p);
	}
	for (size_t i = 0; w != NULL && i < n; i++)
		if (w[i].pidfd >= 0)
			close(w[i].pidfd);
	free(w);
	free(p);
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
	table.wake_watcher = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (table.wake_watcher < 0) {
		snprintf(err, err_size, "cannot make the exit watcher's eventfd: %s",
			 strerror(errno));
		return -1;
	}
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

/* The monitor, detached from the daemon (a grandchild in its own session),
 * so that it outlives it; ready is where it reports.  Between fork and
 * exec only async-signal-safe calls: the daemon has threads. */
static void exec_monitor(const char *const *monitor, const struct vm_user *u, int ready)
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
	execve("/proc/self/exe", (char *const *)monitor, (char *const *)u->env);
	dprintf(3, "failed cannot run the monitor: %s\n", strerrordesc_np(errno));
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

/* lispvmd --monitor DIR CAP 3 USER -- the VM's command. */
static void monitor_argv(const struct vm_entry *e, const char *const *argv, const struct vm_user *u,
			 const char **monitor, char *cap, size_t cap_size, char *user,
			 size_t user_size)
{
	size_t n = 0;

	snprintf(cap, cap_size, "%" PRIu64, table.config.log_cap);
	vm_user_format(u, user, user_size);
	monitor[n++] = "lispvmd";
	monitor[n++] = "--monitor";
	monitor[n++] = e->dir;
	monitor[n++] = cap;
	monitor[n++] = "3";
	monitor[n++] = user;
	monitor[n++] = "--";
	for (size_t i = 0; argv[i] != NULL && n < VM_SPEC_MAX_ARGV + 8; i++)
		monitor[n++] = argv[i];
	monitor[n] = NULL;
}

/* Starts the entry's monitor, which runs argv as u. */
static int start_monitor_with(const struct vm_entry *e, const char *const *argv,
			      const struct vm_user *u, char *err, size_t err_size)
{
	const char *monitor[VM_SPEC_MAX_ARGV + 9];
	char cap[32], user[VM_USER_FORMAT_MAX];
	int ready[2], status, rc;
	pid_t child;

	monitor_argv(e, argv, u, monitor, cap, sizeof(cap), user, sizeof(user));
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, err_size, "cannot start the VM: %s", strerror(errno));
		return -1;
	}
	child = fork();
	if (child == 0)
		exec_monitor(monitor, u, ready[1]);
	close(ready[1]);
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

/* The lispvm command line of the entry's spec (the caller frees *owned
 * with vm_spec_free_argv).  0, or -1 with a reason. */
static int spec_argv(const struct vm_entry *e, const char **argv, char ***owned, char *err,
		     size_t err_size)
{
	if (vm_spec_argv(e->spec, table.config.lispvm, e->name[0] ? e->name : e->id,
			 table.config.quota.max_memory != 0 ? quota_spec_memory(e->spec) : 0,
			 table.config.jail, argv, VM_SPEC_MAX_ARGV, owned) < 0) {
		snprintf(err, err_size, "the request makes a command line too long");
		return -1;
	}
	return 0;
}

static int start_monitor(const struct vm_entry *e, const struct vm_user *u, char *err,
			 size_t err_size)
{
	const char *argv[VM_SPEC_MAX_ARGV];
	char **owned;
	int rc;

	if (spec_argv(e, argv, &owned, err, err_size) < 0)
		return -1;
	rc = start_monitor_with(e, argv, u, err, err_size);
	vm_spec_free_argv(owned);
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

		if (e->uid != uid || e->pool != NULL || (!e->starting && vm_table_ended(e->dir)))
			continue;
		vms++;
		in_use = quota_add(in_use, quota_spec_memory(e->spec));
	}
	return quota_admit(&table.config.quota, vms, in_use, quota_spec_memory(spec), err,
			   err_size);
}

/* Under the lock: a new entry of uid's with its directory and spec.json
 * (pool: a warm VM of that snapshot's pool). */
static unsigned int new_entry(uid_t uid, struct json_object *spec, const char *pool,
			      struct vm_entry **out, char *err, size_t err_size)
{
	struct vm_entry *e = calloc(1, sizeof(*e));
	struct json_object *saved, *v;

	if (e == NULL || (pool != NULL && (e->pool = strdup(pool)) == NULL)) {
		free(e);
		snprintf(err, err_size, "out of memory");
		return 500;
	}
	if (json_object_object_get_ex(spec, "name", &v))
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(v));
	new_id(e->id);
	e->uid = uid;
	e->starting = true;
	e->created = vm_files_now();
	/* A copy of its own: the request's body is put by its connection's
	 * thread, and json-c's reference counts are not atomic. */
	e->spec = NULL;
	if (json_object_deep_copy(spec, &e->spec, NULL) < 0 ||
	    snprintf(e->dir, sizeof(e->dir), "%s/%s", table.vms_dir, e->id) >=
		    (int)sizeof(e->dir)) {
		snprintf(err, err_size, "out of memory or a state directory path too long");
		json_object_put(e->spec);
		free(e->pool);
		free(e);
		return 500;
	}
	saved = saved_entry(e);
	if (mkdir(e->dir, 0700) < 0 || vm_files_write(e->dir, VM_FILE_SPEC, saved) < 0 ||
	    add_entry(e) < 0) {
		snprintf(err, err_size, "cannot record the VM in %s: %s", e->dir, strerror(errno));
		json_object_put(saved);
		remove_dir(e->dir);
		json_object_put(e->spec);
		free(e->pool);
		free(e);
		return 500;
	}
	json_object_put(saved);
	*out = e;
	return 0;
}

/* Under the lock: the checks a user's new VM must pass first. */
static unsigned int admit(uid_t uid, struct json_object *spec, char *err, size_t err_size)
{
	struct json_object *v;
	const char *name =
		json_object_object_get_ex(spec, "name", &v) ? json_object_get_string(v) : NULL;

	if (name != NULL && name_taken(uid, name)) {
		snprintf(err, err_size, "you have a VM named %s already", name);
		return 409;
	}
	return within_quota(uid, spec, err, err_size);
}

/* Under the lock: a new entry for uid's VM, with its directory and spec.json. */
static unsigned int reserve(uid_t uid, struct json_object *spec, struct vm_entry **out, char *err,
			    size_t err_size)
{
	unsigned int status = admit(uid, spec, err, err_size);

	return status != 0 ? status : new_entry(uid, spec, NULL, out, err, err_size);
}

unsigned int vm_table_create(uid_t uid, struct json_object *spec, struct json_object **out,
			     char *err, size_t err_size)
{
	struct vm_entry *e;
	struct vm_user *u = vm_user_open(uid, err, err_size);
	unsigned int status;

	if (u == NULL)
		return 403;
	pthread_mutex_lock(&table.lock);
	status = reserve(uid, spec, &e, err, err_size);
	pthread_mutex_unlock(&table.lock);
	if (status != 0) {
		vm_user_close(u);
		return status;
	}
	/* Outside the lock: a slow start holds up no other request. */
	status = start_monitor(e, u, err, err_size) < 0 ? 500 : 0;
	vm_user_close(u);
	if (status != 0) {
		pthread_mutex_lock(&table.lock);
		remove_dir(e->dir);
		drop_entry(e);
		pthread_mutex_unlock(&table.lock);
		return status;
	}
	pthread_mutex_lock(&table.lock);
	e->starting = false;
	*out = describe(e);
	events_publish(uid, "started", *out);
	pthread_mutex_unlock(&table.lock);
	wake_exit_watcher();
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

	pthread_mutex_lock(&table.lock);
	e = find(uid, ref);
	if (e == NULL)
		status = 404;
	else {
		state = vm_files_read(e->dir, VM_FILE_STATE);
		if (state == NULL || signal_vm(state, sig) < 0)
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

/* Sleeps until an end is announced after `seen`, or ms pass. */
static void await_announced(uint64_t seen, long long ms)
{
	struct timespec until = monotonic_after_ms(ms);

	pthread_mutex_lock(&table.lock);
	while (table.ends == seen && !table.closing &&
	       pthread_cond_clockwait(&table.ended, &table.lock, CLOCK_MONOTONIC, &until) == 0)
		;
	pthread_mutex_unlock(&table.lock);
}

unsigned int vm_table_wait(uid_t uid, const char *ref, int timeout_ms, bool (*gone_fn)(void *),
			   void *arg)
{
	char dir[PATH_MAX];
	long long deadline = timeout_ms >= 0 ? monotonic_ms() + timeout_ms : -1;

	if (vm_table_dir(uid, ref, dir, sizeof(dir)) != 0)
		return 404;
	for (;;) {
		long long left = deadline >= 0 ? deadline - monotonic_ms() : WAITER_CHECK_MS;
		uint64_t seen;

		pthread_mutex_lock(&table.lock);
		seen = table.ends; /* an end announced from here on wakes us */
		pthread_mutex_unlock(&table.lock);
		if (vm_table_ended(dir))
			return 0;
		if (table.closing)
			return 503;
		if (gone_fn != NULL && gone_fn(arg))
			return 499;
		if (left <= 0)
			return 408;
		await_announced(seen, left < WAITER_CHECK_MS ? left : WAITER_CHECK_MS);
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

		if (!e->exit_seen) { /* it ended since the watcher last looked */
			events_publish(e->uid, "exited", d);
			ends_moved();
		}
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
		    table.entries[i]->pool != NULL || !vm_spec_attachable(table.entries[i]->spec))
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

/* ---- the warm pool's VMs (vm_pool.c) ---- */

#define POOL_SOCKET "pool.sock"

static bool pool_ready(const struct vm_entry *e)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" POOL_SOCKET, e->dir);
	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

unsigned int vm_table_pool_start(const char *snapshot, uint64_t memory, char *err, size_t err_size)
{
	struct json_object *spec = json_object_new_object();
	char socket[PATH_MAX + 16], size[32];
	const char *argv[16]; /* lispvm run --jail --snapshot S --pooled P --memory M */
	size_t n = 0;
	struct vm_entry *e;
	struct vm_user *u = vm_user_open(vm_user_owner(), err, err_size);
	unsigned int status;

	if (u == NULL) {
		json_object_put(spec);
		return 500;
	}
	json_object_object_add(spec, "snapshot", json_object_new_string(snapshot));
	pthread_mutex_lock(&table.lock);
	status = new_entry(vm_user_owner(), spec, snapshot, &e, err, err_size);
	pthread_mutex_unlock(&table.lock);
	json_object_put(spec);
	if (status != 0) {
		vm_user_close(u);
		return status;
	}
	snprintf(socket, sizeof(socket), "%s/" POOL_SOCKET, e->dir);
	snprintf(size, sizeof(size), "%" PRIu64, memory);
	argv[n++] = table.config.lispvm;
	argv[n++] = "run";
	/* Jailed as every VM of the daemon's is: lispvm takes the program
	 * outside the jail and hands it in (tools/lispvm/pooled_jail.h). */
	if (table.config.jail)
		argv[n++] = "--jail";
	argv[n++] = "--snapshot";
	argv[n++] = snapshot;
	argv[n++] = "--pooled";
	argv[n++] = socket;
	if (memory != 0) {
		argv[n++] = "--memory";
		argv[n++] = size;
	}
	argv[n] = NULL;
	status = start_monitor_with(e, argv, u, err, err_size) < 0 ? 500 : 0;
	vm_user_close(u);
	pthread_mutex_lock(&table.lock);
	/* One whose monitor may yet start it is ended once its pid is known. */
	e->retiring = status != 0;
	e->starting = false;
	pthread_mutex_unlock(&table.lock);
	wake_exit_watcher();
	return status;
}

/* How an unclaimed warm VM ended: its status and its last line. */
static void pool_failure(const struct vm_entry *e, char *why, size_t size)
{
	struct json_object *end = vm_files_read(e->dir, VM_FILE_EXIT), *last = NULL, *v;
	int fd = vm_files_open(e->dir, VM_FILE_LOG);
	char tail[4096];
	ssize_t n = 0;

	if (fd >= 0) {
		off_t at = lseek(fd, 0, SEEK_END);

		n = pread(fd, tail, sizeof(tail) - 1,
			  at > (off_t)sizeof(tail) - 1 ? at - (off_t)sizeof(tail) + 1 : 0);
		close(fd);
	}
	if (n > 0) {
		tail[n] = '\0';
		while (n > 0 && tail[n - 1] == '\n')
			tail[--n] = '\0';
		last = json_tokener_parse(strrchr(tail, '\n') ? strrchr(tail, '\n') + 1 : tail);
	}
	snprintf(why, size, "a warm VM ended (%s %" PRId64 "): %s",
		 int_field(end, "signal") != 0 ? "signal" : "exit code",
		 int_field(end, "signal") != 0 ? int_field(end, "signal")
					       : int_field(end, "exit_code"),
		 last != NULL && json_object_object_get_ex(last, "line", &v)
			 ? json_object_get_string(v)
			 : "no output");
	json_object_put(last);
	json_object_put(end);
}

/* Under the lock: whether its monitor said it started its lispvm. */
static bool pool_started(const struct vm_entry *e)
{
	struct json_object *state = vm_files_read(e->dir, VM_FILE_STATE);
	bool started = state != NULL;

	json_object_put(state);
	return started;
}

/* Under the lock: ends a warm VM no pool needs (its end is no failure). */
static void pool_kill(struct vm_entry *e)
{
	struct json_object *state = vm_files_read(e->dir, VM_FILE_STATE);

	e->retiring = true;
	if (state != NULL)
		signal_vm(state, SIGKILL);
	json_object_put(state);
}

void vm_table_pool_census(const char *snapshot, unsigned int keep, struct vm_pool_census *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&table.lock);
	for (size_t i = table.n; i-- > 0;) {
		struct vm_entry *e = table.entries[i];

		/* One being handed over may come back: no refill for it yet. */
		if (e->claimed_from != NULL && strcmp(e->claimed_from, snapshot) == 0)
			c->starting++;
		if (e->pool == NULL || strcmp(e->pool, snapshot) != 0)
			continue;
		if (e->starting)
			c->starting++;
		else if (vm_table_ended(e->dir)) {
			if (!e->retiring) {
				c->failed++;
				pool_failure(e, c->why, sizeof(c->why));
			}
			remove_dir(e->dir);
			drop_entry(e);
		} else if (e->retiring && vm_files_now() - e->created > START_TIMEOUT_MS / 500 &&
			   !pool_started(e)) {
			remove_dir(e->dir); /* its monitor never started it */
			drop_entry(e);
		} else if (e->retiring)
			pool_kill(e); /* again: its pid may be known only now */
		else if (c->ready + c->starting >= keep)
			pool_kill(e); /* the pool shrank */
		else if (pool_ready(e))
			c->ready++;
		else
			c->starting++;
	}
	pthread_mutex_unlock(&table.lock);
}

void vm_table_pool_retire(bool (*wanted)(const char *snapshot))
{
	pthread_mutex_lock(&table.lock);
	for (size_t i = table.n; i-- > 0;) {
		struct vm_entry *e = table.entries[i];

		if (e->pool == NULL || e->starting || wanted(e->pool))
			continue;
		if (vm_table_ended(e->dir)) {
			remove_dir(e->dir);
			drop_entry(e);
		} else if (!e->retiring)
			pool_kill(e);
	}
	pthread_mutex_unlock(&table.lock);
}

/* Under the lock: the entry becomes the caller's VM while it is handed
 * over (its name and the quota count it), or a warm VM again. */
static void pool_claim(struct vm_entry *e, uid_t uid, struct json_object *spec)
{
	struct json_object *v;

	e->claimed_from = e->pool;
	e->pool = NULL;
	e->starting = true;
	e->uid = uid;
	if (json_object_object_get_ex(spec, "name", &v))
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(v));
	json_object_put(e->spec);
	e->spec = NULL;
	json_object_deep_copy(spec, &e->spec, NULL);
	rewrite_spec(e);
}

static void pool_unclaim(struct vm_entry *e)
{
	e->pool = e->claimed_from;
	e->claimed_from = NULL;
	e->starting = false;
	e->uid = vm_user_owner();
	e->name[0] = '\0';
	json_object_put(e->spec);
	e->spec = json_object_new_object();
	json_object_object_add(e->spec, "snapshot", json_object_new_string(e->pool));
	rewrite_spec(e);
}

unsigned int vm_table_pool_claim(uid_t uid, struct json_object *spec, const char *snapshot,
				 struct vm_pool_claim *claim, char *err, size_t err_size)
{
	unsigned int status;

	memset(claim, 0, sizeof(*claim));
	pthread_mutex_lock(&table.lock);
	status = admit(uid, spec, err, err_size);
	for (size_t i = 0; status == 0 && i < table.n; i++) {
		struct vm_entry *e = table.entries[i];

		if (e->pool == NULL || e->starting || e->retiring ||
		    strcmp(e->pool, snapshot) != 0 || !pool_ready(e) || vm_table_ended(e->dir))
			continue;
		pool_claim(e, uid, spec);
		if (e->spec == NULL ||
		    spec_argv(e, claim->argv, &claim->owned, err, err_size) < 0) {
			pool_unclaim(e);
			status = 500;
			break;
		}
		memcpy(claim->id, e->id, sizeof(claim->id));
		snprintf(claim->socket, sizeof(claim->socket), "%s/" POOL_SOCKET, e->dir);
		pthread_mutex_unlock(&table.lock);
		return 0;
	}
	pthread_mutex_unlock(&table.lock);
	return status != 0 ? status : VM_POOL_NONE_READY;
}

void vm_table_pool_finish(struct vm_pool_claim *claim, enum vm_pool_outcome how,
			  struct json_object **out)
{
	vm_spec_free_argv(claim->owned);
	claim->owned = NULL;
	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		struct vm_entry *e = table.entries[i];

		if (strcmp(e->id, claim->id) != 0 || e->claimed_from == NULL)
			continue;
		if (how != VM_POOL_TAKEN) {
			pool_unclaim(e);
			if (how == VM_POOL_RETIRE)
				pool_kill(e);
			break;
		}
		free(e->claimed_from);
		e->claimed_from = NULL;
		e->from_pool = true;
		e->created = vm_files_now();
		rewrite_spec(e);
		e->starting = false;
		*out = describe(e);
		events_publish(e->uid, "started", *out);
		break;
	}
	pthread_mutex_unlock(&table.lock);
}

void vm_table_close(void)
{
	pthread_mutex_lock(&table.lock);
	table.closing = true;
	ends_moved();
	pthread_mutex_unlock(&table.lock);
	wake_exit_watcher();
}

bool vm_table_closing(void)
{
	return table.closing;
}
