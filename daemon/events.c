/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server.h"
#include "monotonic_time.h"
#include "vm_files.h"
#include "vm_table.h"

#define WAIT_MS 100

struct event {
	int64_t seq;
	uid_t owner;
	char *line; /* JSON and its newline */
};

static struct {
	struct event ring[EVENTS_KEPT];
	int64_t next_seq; /* the first event is 1 */
	pthread_mutex_t lock;
	pthread_cond_t added;
} events = {.next_seq = 1, .lock = PTHREAD_MUTEX_INITIALIZER, .added = PTHREAD_COND_INITIALIZER};

struct reader {
	uid_t uid;
	int64_t seen; /* the last sequence number delivered or skipped */
	int conn_fd;
	char *pending; /* the line being delivered, and how much is out */
	size_t sent;
};

/* The VM's description without its spec: a spec may be as large as a
 * request body (1 MiB), and the ring keeps EVENTS_KEPT events. */
static struct json_object *without_spec(struct json_object *vm)
{
	struct json_object *out = json_object_new_object();

	json_object_object_foreach(vm, key, value)
	{
		if (strcmp(key, "spec") != 0)
			json_object_object_add(out, key, json_object_get(value));
	}
	return out;
}

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

/* Readers wait on the monotonic clock: a wall clock set back must not
 * stall them (nor the daemon's end, which waits for their threads). */
static void use_monotonic_clock(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&events.added);
	pthread_cond_init(&events.added, &attr);
	pthread_condattr_destroy(&attr);
}

void events_publish(uid_t owner, const char *type, struct json_object *vm)
{
	events_publish_extra(owner, type, vm, NULL, NULL);
}

void events_publish_extra(uid_t owner, const char *type, struct json_object *vm, const char *key,
			  struct json_object *extra)
{
	struct json_object *e = json_object_new_object();
	const char *text;
	struct event *slot;
	char *line;

	pthread_once(&clock_once, use_monotonic_clock);
	pthread_mutex_lock(&events.lock);
	json_object_object_add(e, "seq", json_object_new_int64(events.next_seq));
	json_object_object_add(e, "time", json_object_new_double(vm_files_now()));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "vm", without_spec(vm));
	if (key != NULL)
		json_object_object_add(e, key, extra);
	text = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	line = malloc(strlen(text) + 2);
	if (line != NULL) {
		slot = &events.ring[events.next_seq % EVENTS_KEPT];
		free(slot->line);
		*slot = (struct event){.seq = events.next_seq++, .owner = owner, .line = line};
		strcpy(line, text);
		strcat(line, "\n");
		pthread_cond_broadcast(&events.added);
	}
	pthread_mutex_unlock(&events.lock);
	json_object_put(e);
}

void *events_follow_open(uid_t uid, int64_t since, int conn_fd)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->uid = uid;
	r->conn_fd = conn_fd;
	pthread_once(&clock_once, use_monotonic_clock);
	pthread_mutex_lock(&events.lock);
	r->seen = since < 0 || since >= events.next_seq ? events.next_seq - 1 : since;
	pthread_mutex_unlock(&events.lock);
	return r;
}

/* A reader that asked for events the ring no longer holds is told so, with
 * the last of them as its seq (a reader that reconnects gives it as
 * since). */
static char *lost_line(int64_t last, int64_t missed)
{
	struct json_object *e = json_object_new_object();
	char *line;

	json_object_object_add(e, "seq", json_object_new_int64(last));
	json_object_object_add(e, "time", json_object_new_double(vm_files_now()));
	json_object_object_add(e, "type", json_object_new_string("lost"));
	json_object_object_add(e, "missed", json_object_new_int64(missed));
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN)) < 0)
		line = NULL;
	json_object_put(e);
	return line;
}

/* The next event r may see, copied (the ring may overwrite it); NULL if
 * none yet. */
static char *next_line(struct reader *r)
{
	int64_t oldest = events.next_seq - EVENTS_KEPT;

	if (r->seen < oldest - 1) {
		int64_t missed = oldest - 1 - r->seen;

		r->seen = oldest - 1;
		return lost_line(r->seen, missed);
	}
	while (r->seen + 1 < events.next_seq) {
		const struct event *e = &events.ring[++r->seen % EVENTS_KEPT];

		if (r->uid == 0 || e->owner == r->uid)
			return strdup(e->line);
	}
	return NULL;
}

static void wait_added(void)
{
	struct timespec until = monotonic_after_ms(WAIT_MS);

	pthread_cond_timedwait(&events.added, &events.lock, &until);
}

ssize_t events_follow_read(void *reader, char *buf, size_t max)
{
	struct reader *r = reader;
	size_t n;

	while (r->pending == NULL) {
		if (http_peer_gone(r->conn_fd) || vm_table_closing())
			return -1;
		pthread_mutex_lock(&events.lock);
		r->pending = next_line(r);
		if (r->pending == NULL)
			wait_added();
		pthread_mutex_unlock(&events.lock);
		r->sent = 0;
	}
	n = strlen(r->pending + r->sent);
	if (n > max)
		n = max;
	memcpy(buf, r->pending + r->sent, n);
	r->sent += n;
	if (r->pending[r->sent] == '\0') {
		free(r->pending);
		r->pending = NULL;
	}
	return (ssize_t)n;
}

void events_follow_close(void *reader)
{
	struct reader *r = reader;

	free(r->pending);
	free(r);
}
