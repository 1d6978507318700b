/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "vm_pool.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monotonic_time.h"
#include "vm_table.h"
#include "vm_user.h"
#include "fd_io.h"

/* How often the pools are looked at when nothing is taken. */
#define POOL_TICK_MS 100
/* How long a warm VM may take to accept a program (it resolves the
 * program and the cache, as lispvm run does). */
#define HAND_OVER_MS 30000
#define RETRY_MAX_S  60

struct pool {
	char snapshot[PATH_MAX];
	unsigned int size; /* 0: a slot no pool uses */
	unsigned int ready, starting, taken, failures, failures_in_a_row;
	char last_failure[256];
	double retry_at;
};

/* Everything under lock: requests set pools while the keeper tends them. */
static struct {
	struct pool pool[VM_POOL_MAX];
	unsigned int n; /* slots used at some time */
	uint64_t memory;
	char file[PATH_MAX]; /* STATE/pools.json */
	/* --pool options, applied at start over what pools.json kept */
	char option_snapshot[VM_POOL_MAX][PATH_MAX];
	unsigned int option_size[VM_POOL_MAX], options;
	pthread_mutex_t lock;
	pthread_cond_t wake;
} pools = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Under the lock: snapshot's pool (real path), or NULL. */
static struct pool *pool_named(const char *snapshot)
{
	for (unsigned int i = 0; i < pools.n; i++)
		if (pools.pool[i].size > 0 && strcmp(pools.pool[i].snapshot, snapshot) == 0)
			return &pools.pool[i];
	return NULL;
}

/* Under the lock: what pools.json keeps, written by rename. */
static void save(void)
{
	struct json_object *list = json_object_new_array(), *body = json_object_new_object();
	char tmp[PATH_MAX + 8];
	FILE *f;

	for (unsigned int i = 0; i < pools.n; i++) {
		struct json_object *o;

		if (pools.pool[i].size == 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "snapshot",
				       json_object_new_string(pools.pool[i].snapshot));
		json_object_object_add(o, "size", json_object_new_int((int)pools.pool[i].size));
		json_object_array_add(list, o);
	}
	json_object_object_add(body, "pools", list);
	snprintf(tmp, sizeof(tmp), "%s.new", pools.file);
	f = fopen(tmp, "we");
	if (f != NULL) {
		fprintf(f, "%s\n", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PRETTY));
		if (fclose(f) == 0)
			rename(tmp, pools.file);
	}
	json_object_put(body);
}

/* Under the lock: snapshot's pool of size (0: none).  0, or 409. */
static unsigned int set_locked(const char *snapshot, unsigned int size, char *err, size_t err_size)
{
	struct pool *p = pool_named(snapshot);

	if (p == NULL && size > 0) {
		for (unsigned int i = 0; i < pools.n && p == NULL; i++)
			if (pools.pool[i].size == 0)
				p = &pools.pool[i];
		if (p == NULL && pools.n == VM_POOL_MAX) {
			snprintf(err, err_size, "at most %d pools", VM_POOL_MAX);
			return 409;
		}
		if (p == NULL)
			p = &pools.pool[pools.n++];
		*p = (struct pool){0};
		snprintf(p->snapshot, sizeof(p->snapshot), "%s", snapshot);
	}
	if (p != NULL)
		p->size = size;
	pthread_cond_signal(&pools.wake);
	return 0;
}

/* The snapshot's real path (pools compare them): 0, or -1 with a reason. */
static int real_snapshot(const char *file, char *real, char *err, size_t err_size)
{
	struct stat st;

	if (realpath(file, real) == NULL || stat(real, &st) < 0) {
		snprintf(err, err_size, "%.200s: %s", file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%.200s: not a file", file);
		return -1;
	}
	return 0;
}

int vm_pool_add(const char *arg, char *err, size_t err_size)
{
	const char *eq = strrchr(arg, '=');
	char file[PATH_MAX], *end, why[512];
	unsigned long size;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(file)) {
		snprintf(err, err_size, "--pool %.200s: not FILE=N", arg);
		return -1;
	}
	size = strtoul(eq + 1, &end, 10);
	if (eq[1] < '0' || eq[1] > '9' || *end != '\0' || size > VM_POOL_MAX_SIZE) {
		snprintf(err, err_size, "--pool %.200s: N is a count from 0 to %d", arg,
			 VM_POOL_MAX_SIZE);
		return -1;
	}
	if (pools.options == VM_POOL_MAX) {
		snprintf(err, err_size, "--pool: at most %d pools", VM_POOL_MAX);
		return -1;
	}
	snprintf(file, sizeof(file), "%.*s", (int)(eq - arg), arg);
	if (real_snapshot(file, pools.option_snapshot[pools.options], why, sizeof(why)) < 0) {
		snprintf(err, err_size, "--pool %.300s", why);
		return -1;
	}
	pools.option_size[pools.options++] = (unsigned int)size;
	return 0;
}

unsigned int vm_pool_set(const char *snapshot, unsigned int size, char *err, size_t err_size)
{
	char real[PATH_MAX];
	unsigned int status;

	if (size > VM_POOL_MAX_SIZE) {
		snprintf(err, err_size, "size: at most %d", VM_POOL_MAX_SIZE);
		return 400;
	}
	if (real_snapshot(snapshot, real, err, err_size) < 0)
		return 400;
	pthread_mutex_lock(&pools.lock);
	status = set_locked(real, size, err, err_size);
	if (status == 0)
		save();
	pthread_mutex_unlock(&pools.lock);
	return status;
}

/* The pools a previous daemon kept (a snapshot gone since is left out). */
static void load(void)
{
	struct json_object *body = json_object_from_file(pools.file), *list;
	char err[512];

	if (body == NULL || !json_object_object_get_ex(body, "pools", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(body);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *o = json_object_array_get_idx(list, i), *snap, *size;
		char real[PATH_MAX];

		if (json_object_object_get_ex(o, "snapshot", &snap) &&
		    json_object_object_get_ex(o, "size", &size) &&
		    json_object_is_type(size, json_type_int) && json_object_get_int(size) > 0 &&
		    json_object_get_int(size) <= VM_POOL_MAX_SIZE &&
		    real_snapshot(json_object_get_string(snap), real, err, sizeof(err)) == 0)
			set_locked(real, (unsigned int)json_object_get_int(size), err, sizeof(err));
	}
	json_object_put(body);
}

static bool wanted(const char *snapshot)
{
	bool yes;

	pthread_mutex_lock(&pools.lock);
	yes = pool_named(snapshot) != NULL;
	pthread_mutex_unlock(&pools.lock);
	return yes;
}

/* One look at a pool: what it holds, what ended, one more warm VM when it
 * is short and not waiting after failures. */
static void tend(const char *snapshot, unsigned int size)
{
	struct vm_pool_census c;
	struct pool *p;
	bool start = false;
	char err[256];

	vm_table_pool_census(snapshot, size, &c);
	pthread_mutex_lock(&pools.lock);
	p = pool_named(snapshot);
	if (p != NULL) {
		p->ready = c.ready;
		p->starting = c.starting;
		if (c.failed > 0) {
			unsigned int shift = p->failures_in_a_row < 6 ? p->failures_in_a_row : 6;
			double wait = (double)(1u << shift);

			p->failures += c.failed;
			p->failures_in_a_row += c.failed;
			snprintf(p->last_failure, sizeof(p->last_failure), "%s", c.why);
			p->retry_at =
				monotonic_seconds() + (wait < RETRY_MAX_S ? wait : RETRY_MAX_S);
		} else if (c.ready > 0)
			p->failures_in_a_row = 0;
		start = c.ready + c.starting < p->size && monotonic_seconds() >= p->retry_at;
	}
	pthread_mutex_unlock(&pools.lock);
	if (start && vm_table_pool_start(snapshot, pools.memory, err, sizeof(err)) != 0) {
		pthread_mutex_lock(&pools.lock);
		if ((p = pool_named(snapshot)) != NULL) {
			p->failures++;
			snprintf(p->last_failure, sizeof(p->last_failure), "%s", err);
			p->retry_at = monotonic_seconds() + RETRY_MAX_S;
		}
		pthread_mutex_unlock(&pools.lock);
	}
}

static void *keep_filled(void *unused)
{
	(void)unused;
	while (!vm_table_closing()) {
		char(*names)[PATH_MAX] = malloc(sizeof(char[VM_POOL_MAX][PATH_MAX]));
		unsigned int n = 0, sizes[VM_POOL_MAX];
		struct timespec until;

		vm_table_pool_retire(wanted);
		pthread_mutex_lock(&pools.lock);
		for (unsigned int i = 0; names != NULL && i < pools.n; i++)
			if (pools.pool[i].size > 0) {
				sizes[n] = pools.pool[i].size;
				memcpy(names[n++], pools.pool[i].snapshot, PATH_MAX);
			}
		pthread_mutex_unlock(&pools.lock);
		for (unsigned int i = 0; i < n && !vm_table_closing(); i++)
			tend(names[i], sizes[i]);
		free(names);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += POOL_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&pools.lock);
		pthread_cond_timedwait(&pools.wake, &pools.lock, &until);
		pthread_mutex_unlock(&pools.lock);
	}
	return NULL;
}

int vm_pool_start(const char *state_dir, uint64_t memory, char *err, size_t err_size)
{
	pthread_t keeper;

	pools.memory = memory;
	if (snprintf(pools.file, sizeof(pools.file), "%s/pools.json", state_dir) >=
	    (int)sizeof(pools.file)) {
		snprintf(err, err_size, "the state directory's path is too long");
		return -1;
	}
	pthread_mutex_lock(&pools.lock);
	load();
	for (unsigned int i = 0; i < pools.options; i++)
		if (set_locked(pools.option_snapshot[i], pools.option_size[i], err, err_size) !=
		    0) {
			pthread_mutex_unlock(&pools.lock);
			return -1;
		}
	save();
	pthread_mutex_unlock(&pools.lock);
	/* Even with no pool: warm VMs adopted from a daemon that had one end. */
	if (pthread_create(&keeper, NULL, keep_filled, NULL) != 0 || pthread_detach(keeper) != 0) {
		snprintf(err, err_size, "cannot start the pool keeper");
		return -1;
	}
	return 0;
}

static const char *string_of(struct json_object *spec, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(spec, key, &v) ? json_object_get_string(v) : NULL;
}

/* Whether spec can be taken from a pool (its snapshot's real path in
 * real): a program or forms from a prepared snapshot, on the machine as
 * the pool restored it. */
static bool pool_for(struct json_object *spec, char *real)
{
	const char *snapshot = string_of(spec, "snapshot");
	struct json_object *v;
	bool found;

	if (snapshot == NULL ||
	    (string_of(spec, "program") == NULL && string_of(spec, "eval") == NULL) ||
	    string_of(spec, "memory") != NULL ||
	    (json_object_object_get_ex(spec, "attachable", &v) && json_object_get_boolean(v)) ||
	    realpath(snapshot, real) == NULL)
		return false;
	pthread_mutex_lock(&pools.lock);
	found = pool_named(real) != NULL;
	pthread_mutex_unlock(&pools.lock);
	return found;
}

/* How a hand-over went: the VM took the program; refused it (the
 * caller's mistake: it waits on); is stale (it can take no program any
 * more, and ends); or never answered (it may hold half the program). */
enum hand_over { HANDED, REFUSED, STALE, BROKEN };

static enum hand_over send_invocation(int fd, const struct vm_pool_claim *claim)
{
	size_t len = 0;
	char head[32];

	for (size_t i = 0; claim->argv[i] != NULL; i++)
		len += strlen(claim->argv[i]) + 1;
	snprintf(head, sizeof(head), "%zu\n", len);
	if (write_all(fd, head, strlen(head)) < 0)
		return BROKEN;
	for (size_t i = 0; claim->argv[i] != NULL; i++)
		if (write_all(fd, claim->argv[i], strlen(claim->argv[i]) + 1) < 0)
			return BROKEN;
	return shutdown(fd, SHUT_WR) < 0 ? BROKEN : HANDED;
}

/* The invocation to the warm VM, and its one-line answer. */
static enum hand_over hand_over(const struct vm_pool_claim *claim, char *why, size_t size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char answer[512];
	size_t len = 0;

	if (strlen(claim->socket) >= sizeof(addr.sun_path)) {
		if (fd >= 0)
			close(fd);
		snprintf(why, size, "the warm VM's socket path is too long");
		return STALE;
	}
	memcpy(addr.sun_path, claim->socket, strlen(claim->socket) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(why, size, "cannot reach the warm VM: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return STALE; /* it never saw the program */
	}
	/* A VM that stopped reading must not hold the create for ever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){.tv_sec = HAND_OVER_MS / 1000},
		   sizeof(struct timeval));
	if (send_invocation(fd, claim) != HANDED) {
		close(fd);
		snprintf(why, size, "the warm VM did not read its program: %s", strerror(errno));
		return BROKEN;
	}
	while (len < sizeof(answer) - 1 && memchr(answer, '\n', len) == NULL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, HAND_OVER_MS) <= 0 ||
		    (n = read(fd, answer + len, sizeof(answer) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	answer[len] = '\0';
	answer[strcspn(answer, "\n")] = '\0';
	if (strcmp(answer, "ok") == 0)
		return HANDED;
	snprintf(why, size, "%s",
		 strncmp(answer, "error: ", 7) == 0 ? answer + 7 : "the warm VM did not answer");
	if (strncmp(answer, "error: stale:", 13) == 0)
		return STALE;
	return strncmp(answer, "error: ", 7) == 0 ? REFUSED : BROKEN;
}

unsigned int vm_pool_take(uid_t uid, struct json_object *spec, struct json_object **out, char *err,
			  size_t err_size)
{
	static const enum vm_pool_outcome outcome[] = {
		[HANDED] = VM_POOL_TAKEN,
		[REFUSED] = VM_POOL_REFUSED,
		[STALE] = VM_POOL_RETIRE,
		[BROKEN] = VM_POOL_RETIRE,
	};
	struct vm_pool_claim *claim;
	unsigned int status;
	enum hand_over how;
	char why[512], snapshot[PATH_MAX];
	struct pool *p;

	/* Warm VMs run as the daemon's user: another user's program never
	 * goes to one (a root daemon starts theirs cold, as them). */
	if (vm_user_runs_as(uid) != vm_user_owner() || !pool_for(spec, snapshot))
		return VM_POOL_NONE_READY;
	claim = malloc(sizeof(*claim)); /* argv is 8 KiB: not on a request's stack */
	if (claim == NULL)
		return VM_POOL_NONE_READY;
	status = vm_table_pool_claim(uid, spec, snapshot, claim, err, err_size);
	if (status != 0) {
		free(claim);
		return status;
	}
	how = hand_over(claim, why, sizeof(why));
	vm_table_pool_finish(claim, outcome[how], out);
	free(claim);
	pthread_mutex_lock(&pools.lock);
	if ((p = pool_named(snapshot)) != NULL && how == HANDED) {
		p->taken++;
		p->failures_in_a_row = 0;
	} else if (p != NULL && how == BROKEN) {
		p->failures++;
		snprintf(p->last_failure, sizeof(p->last_failure), "a hand-over: %.200s", why);
	}
	pthread_cond_signal(&pools.wake);
	pthread_mutex_unlock(&pools.lock);
	if (how == BROKEN) {
		/* It may have begun the program: another start could run it twice. */
		snprintf(err, err_size,
			 "the warm VM took the program but did not say so (%.200s); "
			 "it was ended",
			 why);
		return 503;
	}
	/* Refused, the caller's mistake, starts cold and fails there as it
	 * would have; stale, the pool's, starts cold and works. */
	return how == HANDED ? 0 : VM_POOL_NONE_READY;
}

struct json_object *vm_pool_status(bool details)
{
	struct json_object *list = json_object_new_array(), *body = json_object_new_object();

	pthread_mutex_lock(&pools.lock);
	for (unsigned int i = 0; i < pools.n; i++) {
		const struct pool *p = &pools.pool[i];
		struct json_object *o;

		if (p->size == 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "snapshot", json_object_new_string(p->snapshot));
		json_object_object_add(o, "size", json_object_new_int(p->size));
		json_object_object_add(o, "ready", json_object_new_int(p->ready));
		json_object_object_add(o, "starting", json_object_new_int(p->starting));
		json_object_object_add(o, "taken", json_object_new_int(p->taken));
		json_object_object_add(o, "failures", json_object_new_int(p->failures));
		json_object_object_add(o, "last_failure",
				       p->last_failure[0] && details
					       ? json_object_new_string(p->last_failure)
					       : NULL);
		json_object_array_add(list, o);
	}
	pthread_mutex_unlock(&pools.lock);
	json_object_object_add(body, "pools", list);
	return body;
}
