/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "http_server.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct http_server {
	struct MHD_Daemon *mhd;
	http_router_fn router;
};

/* One request as it arrives: the body gathered in pieces; a reply that
 * switches protocols keeps its state here until it runs (the 101 went
 * out) or the connection ends without it. */
struct pending {
	char *body;
	size_t len;
	bool too_large;
	struct http_upgrade *upgrade;
};

void http_reply_error(struct http_reply *reply, unsigned int status, const char *message)
{
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "error", json_object_new_string(message));
	json_object_object_add(body, "status", json_object_new_int((int)status));
	json_object_put(reply->body);
	reply->status = status;
	reply->body = body;
}

const char *http_request_arg(const struct http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Whether the comma-separated list has token (case does not matter). */
static bool list_has(const char *list, const char *token)
{
	size_t len = strlen(token);

	while (list != NULL && *list != '\0') {
		list += strspn(list, " \t,");
		size_t n = strcspn(list, ",");
		size_t end = n;

		while (end > 0 && (list[end - 1] == ' ' || list[end - 1] == '\t'))
			end--;
		if (end == len && strncasecmp(list, token, len) == 0)
			return true;
		list += n;
	}
	return false;
}

bool http_request_upgrades_to(const struct http_request *req, const char *protocol)
{
	return list_has(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONNECTION),
			"upgrade") &&
	       list_has(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_UPGRADE),
			protocol);
}

bool http_request_gone(const struct http_request *req)
{
	return http_peer_gone(req->fd);
}

bool http_peer_gone(int fd)
{
	char byte;
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static enum MHD_Result send_raw(struct MHD_Connection *conn, struct http_reply *reply)
{
	struct MHD_Response *response =
		MHD_create_response_from_buffer(reply->raw_len, reply->raw, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (response == NULL)
		return MHD_NO;
	reply->raw = NULL; /* the response frees it */
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	rc = MHD_queue_response(conn, reply->status, response);
	MHD_destroy_response(response);
	return rc;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *s = cls;
	ssize_t n;

	(void)pos;
	n = s->read(s->cls, buf, max);
	return n > 0	? n
	       : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
			: MHD_CONTENT_READER_END_WITH_ERROR;
}

static void free_stream(void *cls)
{
	struct http_stream *s = cls;

	if (s->free != NULL)
		s->free(s->cls);
	free(s);
}

static enum MHD_Result send_stream(struct MHD_Connection *conn, struct http_reply *reply)
{
	struct http_stream *s = malloc(sizeof(*s));
	struct MHD_Response *response;
	enum MHD_Result rc;

	if (s == NULL)
		return MHD_NO;
	*s = reply->stream;
	reply->stream = (struct http_stream){0}; /* the response owns it now */
	response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, read_stream, s,
						     free_stream);
	if (response == NULL) {
		free_stream(s);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	rc = MHD_queue_response(conn, reply->status, response);
	MHD_destroy_response(response);
	return rc;
}

static void free_upgrade(struct http_upgrade *u)
{
	if (u->free != NULL)
		u->free(u->cls);
	free(u);
}

/* Called with the connection's state once the 101 went out, before the
 * connection ends (libmicrohttpd 0.9.75, connection.c). */
static void run_upgrade(void *cls, struct MHD_Connection *conn, void *state, const char *extra,
			size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct pending *p = state;
	struct http_upgrade *u = p->upgrade;

	(void)cls;
	(void)conn;
	p->upgrade = NULL;
	u->run(u->cls, sock, extra, extra_len);
	free_upgrade(u);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result send_upgrade(struct MHD_Connection *conn, struct http_reply *reply,
				    struct pending *p)
{
	struct http_upgrade *u = malloc(sizeof(*u));
	struct MHD_Response *response;
	enum MHD_Result rc;

	if (u == NULL)
		return MHD_NO;
	*u = reply->upgrade;
	reply->upgrade = (struct http_upgrade){0};
	response = MHD_create_response_for_upgrade(run_upgrade, NULL);
	if (response == NULL) {
		free_upgrade(u);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_UPGRADE, u->protocol);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
	rc = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, response);
	MHD_destroy_response(response);
	if (rc != MHD_YES)
		free_upgrade(u);
	else
		p->upgrade = u; /* run_upgrade's, or on_completed frees it */
	return rc;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct http_reply *reply,
				  struct pending *p)
{
	if (reply->upgrade.run != NULL)
		return send_upgrade(conn, reply, p);
	if (reply->stream.read != NULL)
		return send_stream(conn, reply);
	if (reply->raw != NULL)
		return send_raw(conn, reply);

	const char *text = json_object_to_json_string_ext(
		reply->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *copy = malloc(len + 2);
	struct MHD_Response *response;
	enum MHD_Result rc;

	if (copy == NULL)
		return MHD_NO;
	memcpy(copy, text, len);
	copy[len] = '\n';
	copy[len + 1] = '\0';
	response = MHD_create_response_from_buffer(len + 1, copy, MHD_RESPMEM_MUST_FREE);
	if (response == NULL) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (reply->allow != NULL)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
	if (reply->upgrade_required != NULL)
		MHD_add_response_header(response, MHD_HTTP_HEADER_UPGRADE, reply->upgrade_required);
	rc = MHD_queue_response(conn, reply->status, response);
	MHD_destroy_response(response);
	return rc;
}

static bool peer_of(struct MHD_Connection *conn, struct ucred *cred, int *fd)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	socklen_t len = sizeof(*cred);

	if (info == NULL)
		return false;
	*fd = info->connect_fd;
	return getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == 0;
}

/* The body, if any, as one JSON object; else a 400 in reply. */
static bool parse_body(const struct pending *p, struct json_object **out, struct http_reply *reply)
{
	struct json_tokener *tok;
	struct json_object *obj;

	*out = NULL;
	if (p->len == 0)
		return true;
	tok = json_tokener_new();
	if (tok == NULL) {
		http_reply_error(reply, 500, "out of memory");
		return false;
	}
	obj = json_tokener_parse_ex(tok, p->body, (int)p->len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != p->len) {
		char why[160];

		snprintf(why, sizeof(why), "the request body is not JSON: %s",
			 obj == NULL ? json_tokener_error_desc(json_tokener_get_error(tok))
				     : "text after the value");
		json_object_put(obj);
		json_tokener_free(tok);
		http_reply_error(reply, 400, why);
		return false;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		http_reply_error(reply, 400, "the request body must be a JSON object");
		return false;
	}
	*out = obj;
	return true;
}

static void answer(struct http_server *s, struct MHD_Connection *conn, const char *method,
		   const char *url, const struct pending *p, struct http_reply *reply)
{
	struct ucred cred;
	unsigned int status = 404;
	http_route_fn route;
	struct http_request req = {.method = method, .path = url, .conn = conn};

	if (p->too_large) {
		http_reply_error(reply, 413, "the request body is larger than 1 MiB");
		return;
	}
	if (!peer_of(conn, &cred, &req.fd)) {
		http_reply_error(reply, 500, "cannot tell who is asking (SO_PEERCRED)");
		return;
	}
	req.uid = cred.uid;
	req.pid = cred.pid;
	/* A malformed request is one whatever its path. */
	if (!parse_body(p, &req.body, reply))
		return;
	route = s->router(method, url, req.param, &status, &reply->allow);
	if (route == NULL) {
		json_object_put(req.body);
		http_reply_error(reply, status,
				 status == 405 ? "this path does not take that method"
					       : "no such path");
		return;
	}
	reply->status = 200;
	route(&req, reply);
	json_object_put(req.body);
	if (reply->body == NULL && reply->raw == NULL && reply->stream.read == NULL &&
	    reply->upgrade.run == NULL)
		reply->body = json_object_new_object();
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **state)
{
	struct pending *p = *state;
	struct http_reply reply = {0};
	enum MHD_Result rc;

	(void)version;
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		*state = p;
		return p != NULL ? MHD_YES : MHD_NO;
	}
	if (*size != 0) {
		/* Past the cap the rest is read and dropped: the answer is 413. */
		if (!p->too_large && *size <= HTTP_MAX_BODY - p->len) {
			char *body = realloc(p->body, p->len + *size + 1);

			if (body == NULL)
				return MHD_NO;
			memcpy(body + p->len, data, *size);
			p->body = body;
			p->len += *size;
		} else {
			p->too_large = true;
		}
		*size = 0;
		return MHD_YES;
	}
	answer(cls, conn, method, url, p, &reply);
	rc = send_reply(conn, &reply, p);
	json_object_put(reply.body);
	free(reply.raw);
	if (reply.stream.free != NULL) /* never handed to a response */
		reply.stream.free(reply.stream.cls);
	if (reply.upgrade.free != NULL)
		reply.upgrade.free(reply.upgrade.cls);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
			 enum MHD_RequestTerminationCode code)
{
	struct pending *p = *state;

	(void)cls;
	(void)conn;
	(void)code;
	if (p != NULL) {
		if (p->upgrade != NULL) /* the 101 never went out */
			free_upgrade(p->upgrade);
		free(p->body);
		free(p);
	}
	*state = NULL;
}

struct http_server *http_server_start(int listen_fd, http_router_fn router, char *err,
				      size_t err_size)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->router = router;
	s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					  MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
				  0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_END);
	if (s->mhd == NULL) {
		snprintf(err, err_size, "cannot start the HTTP server (libmicrohttpd)");
		free(s);
		return NULL;
	}
	return s;
}

void http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
