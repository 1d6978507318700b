/* SPDX-License-Identifier: MIT */
/* lispvmd: serves the VM API on a Unix socket until SIGTERM or SIGINT,
 * then removes its socket (docs/daemon.md). */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "daemon_socket.h"
#include "http_server.h"
#include "lispvmd_config.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: lispvmd [--socket PATH] [--foreground]\n"
		     "Serves lispvm's VM API (JSON over HTTP) on a Unix socket; runs in the\n"
		     "foreground, as systemd wants it, until SIGTERM or SIGINT.\n"
		     "  --socket PATH  where to listen (default: /run/lispvm/lispvmd.sock as\n"
		     "                 root, $XDG_RUNTIME_DIR/lispvm/lispvmd.sock otherwise)\n"
		     "  --foreground   stay in the foreground (the only way it runs yet)\n"
		     "  -h, --help     show this help\n"
		     "  -V, --version  show the version\n");
}

static int parse(int argc, char **argv, const char **socket_path)
{
	static const struct option options[] = {{"socket", required_argument, NULL, 's'},
						{"foreground", no_argument, NULL, 'f'},
						{"help", no_argument, NULL, 'h'},
						{"version", no_argument, NULL, 'V'},
						{NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			*socket_path = optarg;
			break;
		case 'f':
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lispvmd %s\n", LISPVM_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lispvmd: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], err[512];
	const char *socket_path = NULL;
	struct http_server *server;
	sigset_t stop;
	int fd, sig;

	if (parse(argc, argv, &socket_path) < 0)
		return 2;
	if (socket_path == NULL) {
		if (daemon_socket_default_path(path, sizeof(path), err, sizeof(err)) < 0) {
			fprintf(stderr, "lispvmd: %s\n", err);
			return 1;
		}
		socket_path = path;
	}
	/* Every thread blocks them; the main thread waits for them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = daemon_socket_listen(socket_path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "lispvmd: %s\n", err);
		return 1;
	}
	server = http_server_start(fd, api_route, err, sizeof(err));
	if (server == NULL) {
		fprintf(stderr, "lispvmd: %s\n", err);
		unlink(socket_path);
		return 1;
	}
	fprintf(stderr, "lispvmd: serving %s\n", socket_path);
	sigwait(&stop, &sig);
	http_server_stop(server);
	close(fd);
	unlink(socket_path);
	return 0;
}
