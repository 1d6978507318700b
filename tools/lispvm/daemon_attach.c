/* SPDX-License-Identifier: MIT */
/*
 * libcurl has no way to hand over a connection after a 101, so the
 * request is written here and the answer's head read here; only what the
 * switch needs is looked at: the status, and on a refusal the JSON error
 * body (Content-Length, as lispvmd sends every error), which json-c
 * parses.
 */
#define _GNU_SOURCE
#include "daemon_attach.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon_address.h"
#include "daemon_client.h"
#include "fd_io.h"
#include "vsock_connect.h"

#define PROTOCOL "lispvm-attach"
/* lispvmd waits up to 120 s for the agent's first words. */
#define ANSWER_TIMEOUT_MS 150000
#define MAX_HEAD	  16384
#define MAX_BODY	  65536

/* Reads one byte: 1, or 0 at the end, the deadline or an error. */
static int read_byte(int fd, char *c)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		ssize_t n;

		if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0)
			return 0;
		n = read(fd, c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n == 1;
	}
}

/* The answer's head, up to its blank line, NUL-terminated: 0, or -1.
 * A byte at a time: after a 101 the session's bytes follow at once. */
static int read_head(int fd, char *head, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && read_byte(fd, &head[n])) {
		head[++n] = '\0';
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			return 0;
	}
	return -1;
}

/* The error of a refusal's JSON body (Content-Length bytes), into err. */
static void refusal(int fd, const char *head, unsigned int status, char *err, size_t err_size)
{
	const char *field = strcasestr(head, "\r\ncontent-length:");
	size_t len = field != NULL ? strtoul(field + 17, NULL, 10) : 0, have = 0;
	char *body = malloc(len < MAX_BODY ? len + 1 : MAX_BODY + 1);
	struct json_object *json = NULL, *error;

	snprintf(err, err_size, "lispvmd answered HTTP %u", status);
	if (body == NULL)
		return;
	while (have < len && have < MAX_BODY && read_byte(fd, &body[have]))
		have++;
	body[have] = '\0';
	json = json_tokener_parse(body);
	if (json != NULL && json_object_object_get_ex(json, "error", &error))
		snprintf(err, err_size, "%s", json_object_get_string(error));
	json_object_put(json);
	free(body);
}

static int send_request(int fd, struct daemon_client *client, const char *vm)
{
	char path[512], request[1024];
	int n;

	if (daemon_path(client, path, sizeof(path), "/v1/vms/%s/attach", vm) < 0)
		return -1;
	n = snprintf(request, sizeof(request),
		     "POST %s HTTP/1.1\r\nHost: lispvmd\r\nConnection: Upgrade\r\n"
		     "Upgrade: " PROTOCOL "\r\nContent-Length: 0\r\n\r\n",
		     path);
	return n > 0 && (size_t)n < sizeof(request) ? write_all(fd, request, (size_t)n) : -1;
}

/* The session on s, or a refusal's reason: as daemon_attach_open. */
static int switch_to_attach(int s, struct daemon_client *client, const char *vm, char *err,
			    size_t err_size)
{
	char head[MAX_HEAD];
	unsigned int status = 0;

	if (send_request(s, client, vm) < 0 || read_head(s, head, sizeof(head)) < 0 ||
	    sscanf(head, "HTTP/1.%*d %u", &status) != 1) {
		snprintf(err, err_size, "lispvmd at %s did not answer an attach",
			 client->socket_path);
		return -1;
	}
	if (status == 101)
		return 0;
	refusal(s, head, status, err, err_size);
	return status == 404 ? 1 : -1;
}

/* Where lispvmd listens, as daemon_open_client finds it but without a word
 * when there is none: attach then looks elsewhere. */
static int daemon_socket(char *path, size_t size)
{
	const char *chosen = getenv("LISPVMD_SOCKET");
	char err[256];

	if (chosen == NULL || *chosen == '\0')
		return daemon_socket_client_path(path, size, err, sizeof(err));
	return snprintf(path, size, "%s", chosen) < (int)size ? 0 : -1;
}

int daemon_attach_open(const char *vm, int *fd, char *err, size_t err_size)
{
	struct daemon_client client;
	char socket_path[sizeof(client.socket_path)];
	int s, rc = 1;

	if (daemon_socket(socket_path, sizeof(socket_path)) < 0 ||
	    (s = unix_stream_connect(socket_path)) < 0)
		return 1;
	if (daemon_client_open(&client, socket_path) < 0) {
		snprintf(err, err_size, "lispvmd at %s did not answer an attach", socket_path);
		rc = -1;
	} else {
		rc = switch_to_attach(s, &client, vm, err, err_size);
	}
	if (rc == 0)
		*fd = s;
	else
		close(s);
	daemon_client_close(&client);
	return rc;
}
