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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vm_table.h"

/* How often the pools are looked at when nothing is taken. */
#define POOL_TICK_MS 100
/* How long a warm VM may take to accept a program (it resolves the
 * program and the cache, as lispvm run does). */
#define HAND_OVER_MS 30000
#define RETRY_MAX_S  60

struct pool {
	char snapshot[PATH_MAX];
	unsigned int size;
	/* Under pools.lock: */
	unsigned int ready, starting, taken, failures, failures_in_a_row;
	char last_failure[256];
	double retry_at;
};

static struct {
	struct pool pool[VM_POOL_MAX];
	unsigned int n;
	uint64_t memory;
	pthread_mutex_t lock;
	pthread_cond_t wake;
} pools = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int vm_pool_add(const char *arg, char *err, size_t err_size)
{
	const char *eq = strrchr(arg, '=');
	char file[PATH_MAX], *end;
	unsigned long size;
	struct pool *p = &pools.pool[pools.n];

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(file)) {
		snprintf(err, err_size, "--pool %.200s: not FILE=N", arg);
		return -1;
	}
	size = strtoul(eq + 1, &end, 10);
	if (eq[1] < '0' || eq[1] > '9' || *end != '\0' || size == 0 || size > VM_POOL_MAX_SIZE) {
		snprintf(err, err_size, "--pool %.200s: N is a count from 1 to %d", arg,
			 VM_POOL_MAX_SIZE);
		return -1;
	}
	if (pools.n == VM_POOL_MAX) {
		snprintf(err, err_size, "--pool: at most %d pools", VM_POOL_MAX);
		return -1;
	}
	snprintf(file, sizeof(file), "%.*s", (int)(eq - arg), arg);
	/* Creates name the snapshot by any path to it. */
	if (realpath(file, p->snapshot) == NULL) {
		snprintf(err, err_size, "--pool %.200s: %s", file, strerror(errno));
		return -1;
	}
	for (unsigned int i = 0; i < pools.n; i++)
		if (strcmp(pools.pool[i].snapshot, p->snapshot) == 0) {
			snprintf(err, err_size, "--pool %.200s: a second pool of one snapshot",
				 file);
			return -1;
		}
	p->size = (unsigned int)size;
	pools.n++;
	return 0;
}

static bool wanted(const char *snapshot)
{
	for (unsigned int i = 0; i < pools.n; i++)
		if (strcmp(pools.pool[i].snapshot, snapshot) == 0)
			return true;
	return false;
}

/* One look at a pool: what it holds, what ended, one more warm VM when it
 * is short and not waiting after failures. */
static void tend(struct pool *p)
{
	struct vm_pool_census c;
	bool start;
	char err[256];

	vm_table_pool_census(p->snapshot, &c);
	pthread_mutex_lock(&pools.lock);
	p->ready = c.ready;
	p->starting = c.starting;
	if (c.failed > 0) {
		unsigned int shift = p->failures_in_a_row < 6 ? p->failures_in_a_row : 6;
		double wait = (double)(1u << shift);

		p->failures += c.failed;
		p->failures_in_a_row += c.failed;
		snprintf(p->last_failure, sizeof(p->last_failure), "%s", c.why);
		p->retry_at = now() + (wait < RETRY_MAX_S ? wait : RETRY_MAX_S);
	} else if (c.ready > 0)
		p->failures_in_a_row = 0;
	start = c.ready + c.starting < p->size && now() >= p->retry_at;
	pthread_mutex_unlock(&pools.lock);
	if (start && vm_table_pool_start(p->snapshot, pools.memory, err, sizeof(err)) != 0) {
		pthread_mutex_lock(&pools.lock);
		p->failures++;
		snprintf(p->last_failure, sizeof(p->last_failure), "%s", err);
		p->retry_at = now() + RETRY_MAX_S;
		pthread_mutex_unlock(&pools.lock);
	}
}

static void *keep_filled(void *unused)
{
	(void)unused;
	while (!vm_table_closing()) {
		struct timespec until;

		vm_table_pool_retire(wanted);
		for (unsigned int i = 0; i < pools.n && !vm_table_closing(); i++)
			tend(&pools.pool[i]);
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

int vm_pool_start(uint64_t memory, char *err, size_t err_size)
{
	pthread_t keeper;

	pools.memory = memory;
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

/* The pool a spec can be taken from: a program or forms from a prepared
 * snapshot, on the machine as the pool restored it. */
static struct pool *pool_for(struct json_object *spec)
{
	const char *snapshot = string_of(spec, "snapshot");
	char real[PATH_MAX];
	struct json_object *v;

	if (pools.n == 0 || snapshot == NULL ||
	    (string_of(spec, "program") == NULL && string_of(spec, "eval") == NULL) ||
	    string_of(spec, "memory") != NULL ||
	    (json_object_object_get_ex(spec, "attachable", &v) && json_object_get_boolean(v)) ||
	    realpath(snapshot, real) == NULL)
		return NULL;
	for (unsigned int i = 0; i < pools.n; i++)
		if (strcmp(pools.pool[i].snapshot, real) == 0)
			return &pools.pool[i];
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

enum hand_over { HANDED, REFUSED, BROKEN };

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
		return REFUSED;
	}
	memcpy(addr.sun_path, claim->socket, strlen(claim->socket) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(why, size, "cannot reach the warm VM: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return REFUSED; /* it never saw the program */
	}
	for (size_t i = 0; claim->argv[i] != NULL; i++)
		if (write_all(fd, claim->argv[i], strlen(claim->argv[i]) + 1) < 0)
			break;
	shutdown(fd, SHUT_WR);
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
	return strncmp(answer, "error: ", 7) == 0 ? REFUSED : BROKEN;
}

unsigned int vm_pool_take(uid_t uid, struct json_object *spec, struct json_object **out, char *err,
			  size_t err_size)
{
	struct pool *p = pool_for(spec);
	struct vm_pool_claim *claim;
	unsigned int status;
	enum hand_over how;
	char why[512];

	if (p == NULL)
		return VM_POOL_NONE_READY;
	claim = malloc(sizeof(*claim)); /* argv is 8 KiB: not on a request's stack */
	if (claim == NULL)
		return VM_POOL_NONE_READY;
	status = vm_table_pool_claim(uid, spec, p->snapshot, claim, err, err_size);
	if (status != 0) {
		free(claim);
		return status;
	}
	how = hand_over(claim, why, sizeof(why));
	vm_table_pool_finish(claim, how == HANDED, how == BROKEN, out);
	free(claim);
	pthread_mutex_lock(&pools.lock);
	if (how == HANDED) {
		p->taken++;
		p->failures_in_a_row = 0;
	} else {
		p->failures++;
		snprintf(p->last_failure, sizeof(p->last_failure), "a create: %.200s", why);
	}
	pthread_cond_signal(&pools.wake);
	pthread_mutex_unlock(&pools.lock);
	return how == HANDED ? 0 : VM_POOL_NONE_READY;
}

struct json_object *vm_pool_status(void)
{
	struct json_object *list = json_object_new_array(), *body = json_object_new_object();

	pthread_mutex_lock(&pools.lock);
	for (unsigned int i = 0; i < pools.n; i++) {
		const struct pool *p = &pools.pool[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "snapshot", json_object_new_string(p->snapshot));
		json_object_object_add(o, "size", json_object_new_int(p->size));
		json_object_object_add(o, "ready", json_object_new_int(p->ready));
		json_object_object_add(o, "starting", json_object_new_int(p->starting));
		json_object_object_add(o, "taken", json_object_new_int(p->taken));
		json_object_object_add(o, "failures", json_object_new_int(p->failures));
		json_object_object_add(o, "last_failure",
				       p->last_failure[0] ? json_object_new_string(p->last_failure)
							  : NULL);
		json_object_array_add(list, o);
	}
	pthread_mutex_unlock(&pools.lock);
	json_object_object_add(body, "pools", list);
	return body;
}
