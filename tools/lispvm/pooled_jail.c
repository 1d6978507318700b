/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pooled_jail.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fd_pass.h"
#include "mount_roots.h"
#include "word_list.h"

#define WIRE_MAGIC 0x6c766d69u /* "lvmi" */
/* The pool socket takes an invocation of at most 2 MiB; its environment
 * and mounts add little. */
#define WIRE_TEXT_MAX (8u << 20)
/* A VMM that holds the invocation says so at once; one that reads
 * nothing for this long is stopped. */
#define TAKE_MS 30000

enum wire_kind { WIRE_INVOCATION = 1, WIRE_REFUSAL = 2 };
enum { HAS_EXEC_PATH = 1, HAS_CWD = 2, STRACE = 4 };

struct wire_head {
	uint32_t magic, kind;
	uint32_t argc, envc, nr_mounts, timeout_seconds;
	uint32_t tty_mask, flags;
	uint16_t rows, cols;
	uint32_t text_len; /* NUL-terminated strings after the head */
	uint64_t max_size[GUEST_MAX_MOUNTS];
	uint8_t readonly[GUEST_MAX_MOUNTS];
};

/* --- the text: the head's strings, in order --- */

struct text {
	char *buf;
	size_t len;
};

static void put(FILE *f, const char *s)
{
	fwrite(s, 1, strlen(s) + 1, f);
}

/* The program, then each mount's host and guest paths. */
static int encode(const struct vm_config *inv, struct wire_head *h, struct text *t)
{
	const struct guest_program *p = inv->program;
	FILE *f = open_memstream(&t->buf, &t->len);

	if (f == NULL)
		return -1;

	*h = (struct wire_head){.magic = WIRE_MAGIC,
				.kind = WIRE_INVOCATION,
				.argc = (uint32_t)p->argc,
				.envc = (uint32_t)p->envc,
				.nr_mounts = inv->nr_mounts,
				.timeout_seconds = inv->timeout_seconds,
				.tty_mask = p->tty_mask,
				.flags = (p->exec_path ? HAS_EXEC_PATH : 0) |
					 (p->cwd ? HAS_CWD : 0) | (p->strace ? STRACE : 0),
				.rows = p->rows,
				.cols = p->cols};
	if (p->exec_path != NULL)
		put(f, p->exec_path);
	if (p->cwd != NULL)
		put(f, p->cwd);
	for (int i = 0; i < p->argc; i++)
		put(f, p->argv[i]);
	for (int i = 0; i < p->envc; i++)
		put(f, p->envp[i]);
	for (unsigned int i = 0; i < inv->nr_mounts; i++) {
		put(f, inv->mounts[i].host_path);
		put(f, inv->mounts[i].guest_path);
		h->readonly[i] = inv->mounts[i].readonly;
		h->max_size[i] = inv->mounts[i].max_size;
	}
	if (fclose(f) != 0 || t->len > WIRE_TEXT_MAX)
		return -1;
	h->text_len = (uint32_t)t->len;
	return 0;
}

/* The head with fds attached, then the text. */
static int send_message(int sock, const struct wire_head *h, const char *text, const int *fds,
			unsigned int nr_fds)
{
	struct iovec iov[2] = {{.iov_base = (void *)h, .iov_len = sizeof(*h)},
			       {.iov_base = (void *)text, .iov_len = h->text_len}};

	return fd_pass_send(sock, iov, 2, fds, nr_fds);
}

/* --- outside: the supervisor --- */

int pooled_jail_open(struct pooled_jail *pj, char *err, size_t err_size)
{
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		snprintf(err, err_size, "--pooled: cannot make the jail's socket pair: %s",
			 strerror(errno));
		return -1;
	}
	*pj = (struct pooled_jail){.outside = pair[0], .inside = pair[1]};
	setsockopt(pj->outside, SOL_SOCKET, SO_SNDTIMEO,
		   &(struct timeval){.tv_sec = TAKE_MS / 1000}, sizeof(struct timeval));
	return 0;
}

/* One byte from the other side within ms (-1: for ever), or 0. */
static char await_byte(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return 0;
	while ((n = (int)read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : 0;
}

bool pooled_jail_ready(const struct pooled_jail *pj)
{
	return await_byte(pj->outside, -1) == 'R';
}

const char *pooled_jail_misfit(const struct cli_options *o)
{
	if (o->attachable || o->swank_port != 0 || o->vsock_path != NULL)
		return "a jailed warm VM has no vsock device (--attachable, --swank, --vsock): "
		       "start it cold";
	if (o->prefetch_path != NULL || o->working_set_out != NULL)
		return "a jailed warm VM takes no --prefetch or --record-working-set: start it "
		       "cold";
	return NULL;
}

/* After the wait for "K" ran out: the pair shut, so that the VMM can no
 * longer take the program (its "K" fails and it ends) unless it did just
 * before; then it runs it, and that is the answer. */
static bool took_late(const struct pooled_jail *pj)
{
	char c = 0;

	shutdown(pj->outside, SHUT_RDWR);
	return recv(pj->outside, &c, 1, MSG_DONTWAIT) == 1 && c == 'K';
}

int pooled_jail_hand_over(const struct pooled_jail *pj, const struct vm_config *invocation,
			  char *why, size_t size, bool *stale)
{
	int fds[GUEST_MAX_MOUNTS];
	struct wire_head h;
	struct text t = {0};
	int rc = -1;

	*stale = false;
	if (mount_roots_open(invocation->mounts, invocation->nr_mounts, fds, why, size) < 0)
		return -1;
	if (encode(invocation, &h, &t) < 0) {
		snprintf(why, size, "the invocation is too long");
		goto out;
	}
	/* From here the VMM may hold part of it. */
	*stale = true;
	if (send_message(pj->outside, &h, t.buf, fds, h.nr_mounts) < 0)
		snprintf(why, size, "stale: the VM ended before it took its program");
	else if (await_byte(pj->outside, TAKE_MS) != 'K' && !took_late(pj))
		snprintf(why, size, "stale: the VM did not take its program");
	else {
		*stale = false;
		rc = 0;
	}
out:
	for (unsigned int i = 0; i < invocation->nr_mounts; i++)
		close(fds[i]);
	free(t.buf);
	return rc;
}

void pooled_jail_refuse(const struct pooled_jail *pj, const char *why)
{
	struct wire_head h = {
		.magic = WIRE_MAGIC, .kind = WIRE_REFUSAL, .text_len = (uint32_t)strlen(why) + 1};

	send_message(pj->outside, &h, why, NULL, 0);
}

/* --- inside: the VMM, before its sandbox --- */

static struct {
	struct vm_config config;
	struct guest_program program;
	struct guest_mount mounts[GUEST_MAX_MOUNTS];
	int fds[GUEST_MAX_MOUNTS];
	char *text;
	char **strings;
} received;

/* The head and the descriptors that came with it. */
static int receive_head(int sock, struct wire_head *h, unsigned int *nr_fds)
{
	bool dropped = false;
	ssize_t n = fd_pass_recv(sock, h, sizeof(*h), MSG_WAITALL, received.fds, GUEST_MAX_MOUNTS,
				 nr_fds, &dropped);

	return n == (ssize_t)sizeof(*h) && !dropped ? 0 : -1;
}

static int receive_text(int sock, const struct wire_head *h)
{
	size_t got = 0;

	if (h->text_len == 0 || h->text_len > WIRE_TEXT_MAX ||
	    (received.text = malloc(h->text_len)) == NULL)
		return -1;
	while (got < h->text_len) {
		ssize_t n = read(sock, received.text + got, h->text_len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return received.text[h->text_len - 1] == '\0' ? 0 : -1;
}

/* The strings in order; exactly as many as the head counts. */
static int split_text(const struct wire_head *h, size_t want)
{
	size_t n;

	received.strings = word_list_split(received.text, h->text_len, &n);
	return received.strings != NULL && n == want ? 0 : -1;
}

static const struct vm_config *decode(const struct wire_head *h, const struct vm_config *machine)
{
	struct guest_program *p = &received.program;
	char **s = received.strings;

	*p = (struct guest_program){.argc = (int)h->argc,
				    .envc = (int)h->envc,
				    .tty_mask = h->tty_mask,
				    .rows = h->rows,
				    .cols = h->cols,
				    .strace = (h->flags & STRACE) != 0};
	if (h->flags & HAS_EXEC_PATH)
		p->exec_path = *s++;
	if (h->flags & HAS_CWD)
		p->cwd = *s++;
	p->argv = s;
	s += h->argc;
	p->envp = s;
	s += h->envc;
	for (unsigned int i = 0; i < h->nr_mounts; i++, s += 2)
		received.mounts[i] = (struct guest_mount){.host_path = s[0],
							  .guest_path = s[1],
							  .readonly = h->readonly[i] != 0,
							  .max_size = h->max_size[i],
							  .root_given = true,
							  .root_fd = received.fds[i]};
	received.config = *machine;
	received.config.await_invocation = NULL;
	received.config.program = p;
	received.config.mounts = received.mounts;
	received.config.nr_mounts = h->nr_mounts;
	received.config.timeout_seconds = h->timeout_seconds;
	return &received.config;
}

const struct vm_config *pooled_jail_receive(void *arg, const struct vm_config *machine, char *err,
					    size_t err_size)
{
	const struct pooled_jail *pj = arg;
	struct wire_head h;
	unsigned int nr_fds;
	size_t strings;

	if (write(pj->inside, "R", 1) != 1 || receive_head(pj->inside, &h, &nr_fds) < 0 ||
	    h.magic != WIRE_MAGIC || receive_text(pj->inside, &h) < 0) {
		snprintf(err, err_size, "--pooled: the VM's supervisor went away");
		return NULL;
	}
	if (h.kind == WIRE_REFUSAL) {
		snprintf(err, err_size, "%s", received.text);
		return NULL;
	}
	strings = (size_t)h.argc + h.envc + 2 * (size_t)h.nr_mounts +
		  ((h.flags & HAS_EXEC_PATH) != 0) + ((h.flags & HAS_CWD) != 0);
	if (h.kind != WIRE_INVOCATION || h.argc == 0 || h.argc > INT32_MAX || h.envc > INT32_MAX ||
	    h.nr_mounts > GUEST_MAX_MOUNTS || nr_fds != h.nr_mounts ||
	    split_text(&h, strings) < 0) {
		snprintf(err, err_size, "--pooled: the VM's supervisor sent a broken invocation");
		return NULL;
	}
	if (write(pj->inside, "K", 1) != 1) {
		snprintf(err, err_size, "--pooled: the VM's supervisor went away");
		return NULL;
	}
	close(pj->inside);
	return decode(&h, machine);
}
