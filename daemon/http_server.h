/* SPDX-License-Identifier: MIT */
/*
 * lispvmd's HTTP layer: libmicrohttpd on a listening Unix socket, a
 * thread per connection.  It gathers each request (the caller's
 * credentials from SO_PEERCRED, the body up to a cap, parsed as one JSON
 * object) and hands it to a route; every error leaves as a JSON body.
 */
#ifndef LISPVM_DAEMON_HTTP_SERVER_H
#define LISPVM_DAEMON_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include <json-c/json.h>

#define HTTP_MAX_BODY (1u << 20)
/* Connections at once (a thread each); more wait in the listen queue. */
#define HTTP_MAX_CONNECTIONS 512

#define HTTP_MAX_PARAM 64

struct http_request {
	const char *method;
	const char *path;
	char param[HTTP_MAX_PARAM + 1]; /* the path's variable segment, if its route has one */
	uid_t uid;			/* the caller, from SO_PEERCRED */
	pid_t pid;
	struct json_object *body; /* NULL when the request had none */
	void *conn;		  /* the connection (for http_request_arg and _gone) */
	int fd;			  /* its socket */
};

/* A reply made while it is sent, chunked: read fills buf with up to max
 * bytes and returns how many (> 0), 0 at the stream's end, or -1 to cut
 * it off; it may block (each connection has its own thread).  free, if
 * set, releases cls once the reply is done with. */
struct http_stream {
	ssize_t (*read)(void *cls, char *buf, size_t max);
	void (*free)(void *cls);
	void *cls;
};

/* A reply that switches the connection to another protocol (101, RFC 9110
 * 15.2.2): once the 101 is out, run has the socket to itself, in the
 * connection's thread, with any bytes the client sent early (extra); the
 * server closes the socket after it.  free, if set, releases cls whether
 * or not run ran. */
struct http_upgrade {
	const char *protocol; /* the Upgrade header's token */
	void (*run)(void *cls, int sock, const char *extra, size_t extra_len);
	void (*free)(void *cls);
	void *cls;
};

struct http_reply {
	unsigned int status;
	struct json_object *body;     /* owned: sent, then put */
	const char *allow;	      /* for 405: the methods the path takes */
	const char *upgrade_required; /* for 426: the protocol to ask for */
	/* Instead of body: these bytes (owned, freed once sent) as content_type. */
	char *raw;
	size_t raw_len;
	const char *content_type;    /* of raw or stream */
	struct http_stream stream;   /* instead of body, when stream.read is set */
	struct http_upgrade upgrade; /* instead of body, when upgrade.run is set */
};

/* A query argument (?key=value), or NULL. */
const char *http_request_arg(const struct http_request *req, const char *key);

/* Whether the request asks to switch to protocol: a Connection header
 * naming "upgrade" and an Upgrade header naming protocol. */
bool http_request_upgrades_to(const struct http_request *req, const char *protocol);

/* Whether the caller has closed the connection (for requests that wait);
 * the same for a connection's socket, from a stream that outlives its
 * request. */
bool http_request_gone(const struct http_request *req);
bool http_peer_gone(int fd);

/* A route answers one request; the reply's body is a JSON object. */
typedef void (*http_route_fn)(const struct http_request *req, struct http_reply *reply);

/* Finds the route for a method and path, copying the path's variable
 * segment into param (HTTP_MAX_PARAM + 1 bytes): NULL with *status 404
 * (no such path) or 405 (*allow set to the methods it takes). */
typedef http_route_fn (*http_router_fn)(const char *method, const char *path, char *param,
					unsigned int *status, const char **allow);

struct http_server;

/* Serves on listen_fd (a bound, listening Unix stream socket) until
 * http_server_stop.  NULL with a reason in err. */
struct http_server *http_server_start(int listen_fd, http_router_fn router, char *err,
				      size_t err_size);
void http_server_stop(struct http_server *s);

/* An error reply: {"error": message, "status": status}. */
void http_reply_error(struct http_reply *reply, unsigned int status, const char *message);

#endif
