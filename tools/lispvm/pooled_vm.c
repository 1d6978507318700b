/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pooled_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "jail.h"
#include "lisp_run.h"
#include "log.h"
#include "pooled_jail.h"
#include "vm_launch.h"
#include "word_list.h"

/* An invocation is the daemon's command line for a spec it accepted,
 * whose body was at most 1 MiB. */
#define INVOCATION_MAX	  (2u << 20)
#define INVOCATION_READ_S 10

static struct {
	const struct cli_options *machine; /* the pool's own command line */
	struct stat snapshot;		   /* its --snapshot, as opened then */
	char snapshot_path[PATH_MAX];	   /* and its real path */
	bool bound;			   /* the socket is this process's */
	int listen_fd;
	/* --jail: this process is the VM's supervisor, outside its jail. */
	struct pooled_jail jail;
	bool jailed;
	/* The invocation taken: argv points into words. */
	char *words;
	char **argv;
	struct cli_options opts;
	struct exec_env env;
	struct vm_launch_strings strings;
	struct vm_config config;
} pool = {.listen_fd = -1};

static bool same_string(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What lispvm's own messages said while fn ran (they go to stderr, which
 * is the pooled VM's log): its first line, for a refusal; all of it passed
 * on when fn succeeded. */
static int quoting_stderr(int (*fn)(void), char *why, size_t size)
{
	int saved = dup(STDERR_FILENO), memfd = memfd_create("pooled-stderr", MFD_CLOEXEC), rc;
	ssize_t n = 0;

	if (saved < 0 || memfd < 0 || dup2(memfd, STDERR_FILENO) < 0) {
		if (saved >= 0)
			close(saved);
		if (memfd >= 0)
			close(memfd);
		return fn();
	}
	rc = fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (rc != 0 && lseek(memfd, 0, SEEK_SET) == 0 && (n = read(memfd, why, size - 1)) > 0) {
		why[n] = '\0';
		why[strcspn(why, "\n")] = '\0';
	} else if (rc == 0 && lseek(memfd, 0, SEEK_SET) == 0) {
		/* Taken: what it said (packing an image, -v) is the program's
		 * log, as in a cold start. */
		char buf[4096];

		while ((n = read(memfd, buf, sizeof(buf))) > 0)
			if (write(STDERR_FILENO, buf, (size_t)n) < 0)
				break;
	}
	close(memfd);
	return rc;
}

static int parse_invocation(void)
{
	int argc = 0;

	while (pool.argv[argc] != NULL)
		argc++;
	return cli_parse(argc, pool.argv, &pool.opts) < 0 ? LISPVM_EXIT_USAGE : 0;
}

static int prepare_invocation(void)
{
	return lisp_run_prepare(&pool.opts);
}

/* The machine is the pool's: only what a restored prepared snapshot lets a
 * program choose may differ.  A caller's mistake is refused; a pool that
 * no longer fits what it is sent (its snapshot replaced since, lispvmd's
 * --memory changed) is refused as "stale: ...", and such a VM ends. */
static const char *misfit(const struct cli_options *o, bool *stale)
{
	const struct cli_options *m = pool.machine;
	char real[PATH_MAX];
	struct stat st;

	*stale = false;
	if (o->command != CLI_RUN && o->command != CLI_EVAL && o->command != CLI_REPL)
		return "a pooled VM runs 'lispvm run', 'eval' or 'repl'";
	if (o->resume || o->pooled_socket != NULL)
		return "a pooled VM needs a program";
	if (o->stats)
		return "a pooled VM does not count what the restore dirtied (--stats): start it "
		       "cold";
	if (o->snapshot_in == NULL || realpath(o->snapshot_in, real) == NULL ||
	    strcmp(real, pool.snapshot_path) != 0)
		return "a pooled VM runs from the snapshot it was restored from (--snapshot)";
	*stale = true;
	if (stat(real, &st) < 0 || st.st_dev != pool.snapshot.st_dev ||
	    st.st_ino != pool.snapshot.st_ino)
		return "stale: the snapshot was replaced since this VM restored it";
	if (!same_string(o->kernel_path, m->kernel_path) || !same_string(o->append, m->append) ||
	    o->memory_given != m->memory_given ||
	    (o->memory_given && o->memory_size != m->memory_size))
		return "stale: a pooled VM's --kernel, --append and --memory are the pool's";
	/* A jail asked for is never dropped; one not asked for does no harm. */
	if (o->jail.enabled && !m->jail.enabled)
		return "stale: this warm VM is not jailed (--jail)";
	if (o->jail.enabled &&
	    (o->jail.user_given != m->jail.user_given || o->jail.uid != m->jail.uid ||
	     o->jail.gid != m->jail.gid || o->jail.cpu_percent != m->jail.cpu_percent))
		return "stale: a pooled VM's --jail-user and --jail-cpus are the pool's";
	*stale = false;
	return m->jail.enabled ? pooled_jail_misfit(o) : NULL;
}

/* "LENGTH\n", then the words of argv, each NUL-terminated, LENGTH bytes
 * in all, then the writer's end shut: an invocation cut short (its writer
 * died between words) is never taken for a shorter one. */
static int read_words(int fd, char *why, size_t size)
{
	size_t len = 0, max = 64 << 10, n = 0, want;
	char *buf = malloc(max), *body, *end;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_sec = INVOCATION_READ_S},
		   sizeof(struct timeval));
	for (;;) {
		ssize_t got;

		if (buf != NULL && len == max && max < INVOCATION_MAX) {
			char *bigger = realloc(buf, max * 2);

			buf = bigger != NULL ? bigger : (free(buf), NULL);
			max *= 2;
		}
		if (buf == NULL || len == max) {
			free(buf);
			snprintf(why, size, "%s",
				 buf == NULL ? "out of memory" : "the invocation is too long");
			return -1;
		}
		got = read(fd, buf + len, max - len);
		if (got == 0)
			break;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			snprintf(why, size, "cannot read the invocation: %s", strerror(errno));
			return -1;
		}
		len += (size_t)got;
	}
	body = memchr(buf, '\n', len);
	want = body != NULL ? strtoul(buf, &end, 10) : 0;
	if (body == NULL || end != body || buf[0] < '0' || buf[0] > '9' ||
	    want != len - (size_t)(body + 1 - buf) || want == 0 || buf[len - 1] != '\0') {
		free(buf);
		snprintf(why, size,
			 "the invocation is not LENGTH then as many bytes of "
			 "NUL-terminated words");
		return -1;
	}
	if ((pool.argv = word_list_split(body + 1, want, &n)) == NULL) {
		free(buf);
		snprintf(why, size, "out of memory");
		return -1;
	}
	pool.words = buf;
	return 0;
}

static void forget_invocation(void)
{
	free(pool.argv);
	free(pool.words);
	pool.argv = NULL;
	pool.words = NULL;
}

/* 0 once the VM's configuration is the invocation's; *stale: the refusal
 * is the pool's (this VM can serve no invocation any more). */
static int take(int fd, char *why, size_t size, bool *stale)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);
	const char *wrong;

	*stale = false;
	log_verbose_enabled = pool.machine->verbose;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 ||
	    (peer.uid != getuid() && peer.uid != 0)) {
		snprintf(why, size, "only this VM's user or root may give it a program");
		return -1;
	}
	if (read_words(fd, why, size) < 0)
		return -1;
	snprintf(why, size, "not a lispvm command line");
	if (quoting_stderr(parse_invocation, why, size) != 0)
		goto refused;
	if ((wrong = misfit(&pool.opts, stale)) != NULL) {
		snprintf(why, size, "%s", wrong);
		goto refused;
	}
	log_verbose_enabled = pool.opts.verbose;
	snprintf(why, size, "lispvm could not prepare the program");
	if (quoting_stderr(prepare_invocation, why, size) != 0 ||
	    vm_launch_program(&pool.opts, &pool.env, &pool.config, &pool.strings) != 0)
		goto refused;
	if (pool.jailed && pooled_jail_hand_over(&pool.jail, &pool.config, why, size, stale) < 0)
		goto refused;
	return 0;
refused:
	forget_invocation();
	return -1;
}

static int listen_on(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, err_size, "--pooled %.200s: a socket path is at most %zu bytes", path,
			 sizeof(addr.sun_path) - 1);
		return -1;
	}
	strcpy(addr.sun_path, path);
	pool.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pool.listen_fd < 0 ||
	    bind(pool.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(pool.listen_fd, 8) < 0) {
		snprintf(err, err_size, "--pooled %.200s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The next connection on the socket, or -1: an error (in err) or, for a
 * jailed VM, its VMM ended (err empty: it said why). */
static int next_connection(const char *path, char *err, size_t err_size)
{
	struct pollfd p[2] = {{.fd = pool.listen_fd, .events = POLLIN},
			      {.fd = pool.jailed ? pool.jail.outside : -1, .events = POLLIN}};

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, err_size, "--pooled %s: %s", path, strerror(errno));
			return -1;
		}
		if (p[1].revents != 0) {
			err[0] = '\0';
			return -1;
		}
		if (p[0].revents & (POLLERR | POLLNVAL)) {
			snprintf(err, err_size, "--pooled %s: the socket failed", path);
			return -1;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(pool.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED) {
			snprintf(err, err_size, "--pooled %s: %s", path, strerror(errno));
			return -1;
		}
	}
}

/* Programs offered on the socket until one is taken (0) or the pool can
 * take none (-1, why in err).  The socket appears once the machine is
 * restored: it says the VM is ready. */
static int serve(const char *path, char *err, size_t err_size)
{
	int rc = -1;

	if (listen_on(path, err, err_size) < 0)
		return -1;
	pool.bound = true;
	for (;;) {
		char why[512] = "";
		bool stale;
		int fd = next_connection(path, err, err_size);

		if (fd < 0)
			break;
		if (take(fd, why, sizeof(why), &stale) == 0) {
			dprintf(fd, "ok\n");
			close(fd);
			rc = 0;
			break;
		}
		dprintf(fd, "error: %s\n", why);
		close(fd);
		if (stale) {
			snprintf(err, err_size, "--pooled: %s", why);
			break;
		}
	}
	close(pool.listen_fd);
	unlink(path);
	pool.bound = false;
	return rc;
}

static const struct vm_config *await_invocation(void *arg, const struct vm_config *machine,
						char *err, size_t err_size)
{
	(void)machine;
	return serve(arg, err, err_size) == 0 ? &pool.config : NULL;
}

/* Beside a jailed VMM: its supervisor, until the VMM took a program or
 * ended. */
static void supervise(void *arg)
{
	char err[1024] = "";

	close(pool.jail.inside);
	if (pooled_jail_ready(&pool.jail) && serve(arg, err, sizeof(err)) < 0 && err[0] != '\0')
		pooled_jail_refuse(&pool.jail, err);
	close(pool.jail.outside);
}

static int run_jailed(const struct cli_options *opts, struct vm_config *config)
{
	char err[512];

	if (pooled_jail_open(&pool.jail, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return LISPVM_EXIT_HOST_ERROR;
	}
	pool.jailed = true;
	config->await_invocation = pooled_jail_receive;
	config->await_arg = &pool.jail;
	return jail_run_beside(config, &opts->jail, supervise, (void *)opts->pooled_socket,
			       pool.jail.outside);
}

int pooled_vm_command(const struct cli_options *opts)
{
	static struct vm_launch_strings strings;
	struct vm_config config = {.console_fd = STDERR_FILENO,
				   .await_invocation = await_invocation,
				   .await_arg = (void *)opts->pooled_socket};
	int rc;

	pool.machine = opts;
	if (realpath(opts->snapshot_in, pool.snapshot_path) == NULL ||
	    stat(pool.snapshot_path, &pool.snapshot) < 0) {
		log_error("--snapshot %s: %s", opts->snapshot_in, strerror(errno));
		return LISPVM_EXIT_HOST_ERROR;
	}
	if ((rc = vm_launch_machine(opts, &config, &strings)) != 0)
		return rc;
	vm_launch_signals();
	rc = opts->jail.enabled ? run_jailed(opts, &config) : vm_run(&config);
	if (pool.bound) /* never a path this process did not bind */
		unlink(opts->pooled_socket);
	return rc;
}
