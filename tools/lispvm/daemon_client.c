/* SPDX-License-Identifier: MIT */
#include "daemon_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon_address.h"
#include "log.h"

/* The URL's host is a placeholder: the Unix socket decides where it goes. */
#define BASE_URL     "http://lispvmd"
#define MAX_ANSWER   (16u << 20)
#define MAX_LOG_LINE (256u << 10)

struct buffer {
	char *data;
	size_t len, cap, limit;
	bool overflowed;
};

static bool buffer_add(struct buffer *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->limit) {
		b->overflowed = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (grown == NULL)
			return false;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

int daemon_client_open(struct daemon_client *client, const char *socket_path)
{
	char err[200];

	memset(client, 0, sizeof(*client));
	if (socket_path == NULL) {
		if (daemon_socket_client_path(client->socket_path, sizeof(client->socket_path), err,
					      sizeof(err)) < 0) {
			log_error("lispvmd: %s", err);
			return -1;
		}
	} else if (strlen(socket_path) >= sizeof(client->socket_path)) {
		log_error("lispvmd socket path too long: %s", socket_path);
		return -1;
	} else {
		strcpy(client->socket_path, socket_path);
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK ||
	    (client->curl = curl_easy_init()) == NULL) {
		log_error("cannot set up libcurl");
		return -1;
	}
	return 0;
}

void daemon_client_close(struct daemon_client *client)
{
	if (client->curl != NULL)
		curl_easy_cleanup(client->curl);
	client->curl = NULL;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	return buffer_add(arg, data, size * n) ? size * n : 0;
}

/* The handle set for one request to path; headers to free after. */
static struct curl_slist *prepare(struct daemon_client *client, const char *method,
				  const char *path, const char *body)
{
	CURL *curl = client->curl;
	char url[1024];
	struct curl_slist *headers = NULL;

	snprintf(url, sizeof(url), "%s%s", BASE_URL, path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, client->socket_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	}
	return headers;
}

static int transfer_failed(struct daemon_client *client, CURLcode code)
{
	if (code == CURLE_COULDNT_CONNECT)
		log_error("no lispvmd answers at %s (start one with 'lispvmd', or give its "
			  "socket with --socket)",
			  client->socket_path);
	else
		log_error("lispvmd at %s: %s", client->socket_path, curl_easy_strerror(code));
	return -1;
}

int daemon_call(struct daemon_client *client, const char *method, const char *path,
		struct json_object *body, struct daemon_reply *reply)
{
	struct buffer answer = {.limit = MAX_ANSWER};
	const char *text = body != NULL ? json_object_to_json_string(body) : NULL;
	struct curl_slist *headers = prepare(client, method, path, text);
	CURLcode code;

	curl_easy_setopt(client->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(client->curl, CURLOPT_WRITEDATA, &answer);
	code = curl_easy_perform(client->curl);
	curl_slist_free_all(headers);
	*reply = (struct daemon_reply){0};
	if (code != CURLE_OK) {
		free(answer.data);
		if (answer.overflowed) {
			log_error("lispvmd's answer is over %u bytes", MAX_ANSWER);
			return -1;
		}
		return transfer_failed(client, code);
	}
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &reply->status);
	reply->body = answer.data != NULL ? json_tokener_parse(answer.data) : NULL;
	free(answer.data);
	return 0;
}

struct line_reader {
	const struct daemon_stream *stream;
	struct buffer pending;
	bool stopped;
};

/* Each whole line of what arrived so far goes to each_line. */
static bool deliver_lines(struct line_reader *r)
{
	char *start = r->pending.data, *end;

	while ((end = memchr(start, '\n', r->pending.len - (size_t)(start - r->pending.data)))) {
		struct json_object *line;

		*end = '\0';
		line = json_tokener_parse(start);
		start = end + 1;
		if (line == NULL)
			continue;
		int stop = r->stream->each_line(line, r->stream->arg);

		json_object_put(line);
		if (stop) {
			r->stopped = true;
			return false;
		}
	}
	r->pending.len -= (size_t)(start - r->pending.data);
	memmove(r->pending.data, start, r->pending.len);
	return true;
}

static size_t take_lines(char *data, size_t size, size_t n, void *arg)
{
	struct line_reader *r = arg;

	if (!buffer_add(&r->pending, data, size * n))
		return 0;
	return deliver_lines(r) ? size * n : 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct line_reader *r = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (r->stream->poll != NULL)
		r->stream->poll(r->stream->arg);
	return 0;
}

/* What to do with the body: lines when the answer is 200, else keep it. */
struct body_router {
	struct daemon_client *client;
	struct line_reader *lines;
	struct buffer error;
};

static size_t route_body(char *data, size_t size, size_t n, void *arg)
{
	struct body_router *router = arg;
	long status = 0;

	curl_easy_getinfo(router->client->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		return take_lines(data, size, n, router->lines);
	return collect(data, size, n, &router->error);
}

int daemon_stream_lines(struct daemon_client *client, const char *path,
			const struct daemon_stream *stream, long *status,
			struct json_object **error_body)
{
	struct line_reader lines = {.stream = stream, .pending = {.limit = MAX_LOG_LINE}};
	struct body_router router = {.client = client, .lines = &lines, .error = {.limit = 65536}};
	struct curl_slist *headers = prepare(client, "GET", path, NULL);
	CURLcode code;

	curl_easy_setopt(client->curl, CURLOPT_WRITEFUNCTION, route_body);
	curl_easy_setopt(client->curl, CURLOPT_WRITEDATA, &router);
	curl_easy_setopt(client->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(client->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(client->curl, CURLOPT_XFERINFODATA, &lines);
	code = curl_easy_perform(client->curl);
	curl_slist_free_all(headers);
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, status);
	*error_body = router.error.data != NULL ? json_tokener_parse(router.error.data) : NULL;
	free(router.error.data);
	free(lines.pending.data);
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && lines.stopped)) {
		json_object_put(*error_body);
		*error_body = NULL;
	}
	if (code == CURLE_WRITE_ERROR && lines.stopped)
		return 0;
	if (code == CURLE_WRITE_ERROR && lines.pending.overflowed) {
		log_error("lispvmd sent a log line over %u bytes", MAX_LOG_LINE);
		return -1;
	}
	return code == CURLE_OK ? 0 : transfer_failed(client, code);
}

const char *daemon_error_text(const struct daemon_reply *reply, char *buf, size_t size)
{
	struct json_object *error;

	if (reply->body != NULL && json_object_object_get_ex(reply->body, "error", &error) &&
	    json_object_is_type(error, json_type_string))
		return json_object_get_string(error);
	snprintf(buf, size, "lispvmd answered HTTP %ld", reply->status);
	return buf;
}

int daemon_path(struct daemon_client *client, char *buf, size_t size, const char *format,
		const char *component)
{
	char *escaped = curl_easy_escape(client->curl, component, 0);
	int n;

	if (escaped == NULL)
		return -1;
	n = snprintf(buf, size, format, escaped);
	curl_free(escaped);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
