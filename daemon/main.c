/* SPDX-License-Identifier: MIT */
/* lispvmd: serves the VM API on a Unix socket until SIGTERM or SIGINT,
 * then removes its socket (docs/daemon.md). */
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "daemon_address.h"
#include "daemon_socket.h"
#include "http_server.h"
#include "lispvmd_config.h"
#include "machine_client.h"
#include "machine_handover.h"
#include "monitor.h"
#include "memory_reclaim.h"
#include "default_memory.h"
#include "self_path.h"
#include "size_parse.h"
#include "socket_activation.h"
#include "vm_pool.h"
#include "vm_table.h"
#include "vm_user.h"

#define DEFAULT_LOG_CAP (8u << 20)

struct options {
	const char *socket_path, *state_dir, *lispvm;
	long machine_owner; /* -1: not in the helper machine */
	uint64_t log_cap;
	uint64_t reclaim_below; /* UINT64_MAX: a tenth of the host's memory */
	double reclaim_psi;
	struct quota quota;
	bool no_jail;
};

/* Pressure, by default: under a tenth of the host's memory available, or
 * tasks stalled on memory a tenth of the time (PSI "some", over 10 s). */
#define DEFAULT_RECLAIM_PSI 10.0

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lispvmd [--socket PATH] [--state-dir DIR] [--lispvm PATH] [--log-cap "
		"SIZE]\n"
		"               [--reclaim-below SIZE] [--reclaim-psi PERCENT] [--max-vms N]\n"
		"               [--max-memory SIZE] [--pool SNAPSHOT=N]... [--no-jail]\n"
		"               [--foreground]\n"
		"Serves lispvm's VM API (JSON over HTTP) on a Unix socket; runs in the\n"
		"foreground, as systemd wants it, until SIGTERM or SIGINT (VMs run on).\n"
		"  --socket PATH     where to listen (default: /run/lispvm/lispvmd.sock as\n"
		"                    root, $XDG_RUNTIME_DIR/lispvm/lispvmd.sock otherwise)\n"
		"  --state-dir DIR   the VMs' records (default: lispvmd/ beside the socket)\n"
		"  --lispvm PATH     the lispvm VMs run (default: the one beside lispvmd)\n"
		"  --log-cap SIZE    output kept per VM (default 8M)\n"
		"  --reclaim-below SIZE\n"
		"                    ask idle attachable VMs for a full GC when the host has\n"
		"                    less than SIZE available (default: a tenth of its\n"
		"                    memory; 0: never)\n"
		"  --reclaim-psi PERCENT\n"
		"                    ... or when memory stalls tasks this share of the time\n"
		"                    (PSI some avg10; default 10; 0: never)\n"
		"  --max-vms N       VMs a user may have running at once (default: no limit)\n"
		"  --max-memory SIZE guest memory a user's running VMs may ask for in all\n"
		"                    (a VM without -m counts lispvm's default, 2G; default:\n"
		"                    no limit)\n"
		"  --pool SNAPSHOT=N keep N VMs restored from SNAPSHOT (one 'lispvm prepare'\n"
		"                    made) ready for a program: a create naming it, with a\n"
		"                    program or forms and no memory or attachable, takes\n"
		"                    one and the pool refills (repeatable)\n"
		"  --no-jail         run VMs without 'lispvm --jail' (by default each VM's VMM,\n"
		"                    warm ones too, has namespaces, a root and limits of its\n"
		"                    own: docs/security.md)\n"
		"  --foreground      stay in the foreground (the only way it runs yet)\n"
		"  -h, --help        show this help\n"
		"  -V, --version     show the version\n"
		"Without /dev/kvm (or with LISPVM_MACHINE=always) it runs in lispvm's\n"
		"helper machine and serves the same socket here (docs/daemon.md).\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option options[] = {{"socket", required_argument, NULL, 's'},
						{"state-dir", required_argument, NULL, 'd'},
						{"lispvm", required_argument, NULL, 'l'},
						{"log-cap", required_argument, NULL, 'c'},
						{"reclaim-below", required_argument, NULL, 'r'},
						{"reclaim-psi", required_argument, NULL, 'p'},
						{"max-vms", required_argument, NULL, 'n'},
						{"max-memory", required_argument, NULL, 'm'},
						{"pool", required_argument, NULL, 'P'},
						{"foreground", no_argument, NULL, 'f'},
						{"no-jail", no_argument, NULL, 'J'},
						{"machine-owner", required_argument, NULL, 'O'},
						{"help", no_argument, NULL, 'h'},
						{"version", no_argument, NULL, 'V'},
						{NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->socket_path = optarg;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 'l':
			o->lispvm = optarg;
			break;
		case 'c':
			if (size_parse(optarg, &o->log_cap) < 0 || o->log_cap < 4096) {
				fprintf(stderr, "lispvmd: --log-cap: a size of at least 4K\n");
				return -1;
			}
			break;
		case 'r':
			if (size_parse(optarg, &o->reclaim_below) < 0) {
				fprintf(stderr, "lispvmd: --reclaim-below: a size, or 0\n");
				return -1;
			}
			break;
		case 'p': {
			char *end;

			o->reclaim_psi = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' ||
			    !(o->reclaim_psi >= 0 && o->reclaim_psi <= 100)) {
				fprintf(stderr, "lispvmd: --reclaim-psi: a percentage, or 0\n");
				return -1;
			}
			break;
		}
		case 'n': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || n > 1000000) {
				fprintf(stderr, "lispvmd: --max-vms: a count, or 0 for no limit\n");
				return -1;
			}
			o->quota.max_vms = n;
			break;
		}
		case 'm':
			if (size_parse(optarg, &o->quota.max_memory) < 0) {
				fprintf(stderr,
					"lispvmd: --max-memory: a size, or 0 for no limit\n");
				return -1;
			}
			break;
		case 'P': {
			char why[512];

			if (vm_pool_add(optarg, why, sizeof(why)) < 0) {
				fprintf(stderr, "lispvmd: %s\n", why);
				return -1;
			}
			break;
		}
		case 'f':
			break;
		case 'J':
			o->no_jail = true;
			break;
		case 'O': {
			/* Only lispvmd itself passes it, to its copy in the helper
			 * machine (machine_handover.h); not in the help. */
			char *end;
			unsigned long uid = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || uid >= UINT32_MAX) {
				fprintf(stderr, "lispvmd: --machine-owner: a uid\n");
				return -1;
			}
			o->machine_owner = (long)uid;
			break;
		}
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

/* lispvm beside lispvmd (installed: one bin directory), or in the build
 * tree (build/daemon/lispvmd, build/tools/lispvm/lispvm), or on PATH. */
static const char *default_lispvm(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX - 64];

	if (self_path(self, sizeof(self)) < 0)
		return "lispvm";
	*strrchr(self, '/') = '\0';
	if (snprintf(path, sizeof(path), "%s/lispvm", self) < (int)sizeof(path) &&
	    access(path, X_OK) == 0)
		return path;
	if (snprintf(path, sizeof(path), "%s/../tools/lispvm/lispvm", self) < (int)sizeof(path) &&
	    access(path, X_OK) == 0)
		return path;
	return "lispvm";
}

/* lispvmd/ beside the socket. */
static int default_state_dir(const char *socket_path, char *dir, size_t size)
{
	const char *slash = strrchr(socket_path, '/');
	int n = slash == NULL ? snprintf(dir, size, "lispvmd")
			      : snprintf(dir, size, "%.*s/lispvmd", (int)(slash - socket_path),
					 socket_path);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A tenth of the host's memory, or 0 when unknown. */
static uint64_t tenth_of_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 10 : 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], state[PATH_MAX], err[512];
	struct options o = {.machine_owner = -1,
			    .log_cap = DEFAULT_LOG_CAP,
			    .reclaim_below = UINT64_MAX,
			    .reclaim_psi = DEFAULT_RECLAIM_PSI};
	struct http_server *server;
	sigset_t stop;
	int fd, sig;
	bool activated, inside;

	if (argc > 1 && strcmp(argv[1], "--monitor") == 0)
		return monitor_main(argc, argv);
	/* A thread per connection, each short-lived: a few malloc arenas
	 * serve them all, instead of one more arena per thread at once. */
	mallopt(M_ARENA_MAX, 2);
	if (parse(argc, argv, &o) < 0)
		return 2;
	inside = o.machine_owner >= 0;
	if (inside && o.state_dir == NULL) {
		fprintf(stderr, "lispvmd: --machine-owner needs --state-dir\n");
		return 2;
	}
	if (inside) {
		if (machine_inside(o.state_dir, path, sizeof(path), err, sizeof(err)) < 0) {
			fprintf(stderr, "lispvmd: %s\n", err);
			return 1;
		}
		if (geteuid() != 0 && (uid_t)o.machine_owner != geteuid()) {
			fprintf(stderr, "lispvmd: --machine-owner: another user's daemon must run "
					"as root\n");
			return 1;
		}
		vm_user_set_owner((uid_t)o.machine_owner);
		vm_user_set_runtime_root(MACHINE_USERS_RUNTIME);
		o.socket_path = path;
	}
	/* A socket unit's socket comes first: systemd made it, as the unit says. */
	fd = inside ? -1 : socket_activation_listener(path, sizeof(path), err, sizeof(err));
	if (fd < 0 && !inside && err[0] != '\0') {
		fprintf(stderr, "lispvmd: %s\n", err);
		return 1;
	}
	activated = fd >= 0;
	if (activated) {
		o.socket_path = path;
	} else if (o.socket_path == NULL) {
		if (daemon_socket_default_path(path, sizeof(path), err, sizeof(err)) < 0) {
			fprintf(stderr, "lispvmd: %s\n", err);
			return 1;
		}
		o.socket_path = path;
	}
	if (o.state_dir == NULL) {
		if (default_state_dir(o.socket_path, state, sizeof(state)) < 0) {
			fprintf(stderr, "lispvmd: the state directory's path is too long\n");
			return 1;
		}
		o.state_dir = state;
	}
	/* Every thread blocks them; the main thread waits for them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!activated)
		fd = daemon_socket_listen(o.socket_path, err, sizeof(err));
	if (fd >= 0 && !inside && machine_client_wanted()) {
		fprintf(stderr,
			"lispvmd: serving %s from lispvm's helper machine (no /dev/kvm here, "
			"or LISPVM_MACHINE=always)\n",
			o.socket_path);
		/* As given: getopt permutes only around operands, and lispvmd
		 * takes none. */
		machine_handover(argv, fd, activated ? NULL : o.socket_path, o.state_dir, err,
				 sizeof(err));
		fprintf(stderr, "lispvmd: %s\n", err);
		if (!activated)
			unlink(o.socket_path);
		return 1;
	}
	if (o.lispvm == NULL)
		o.lispvm = default_lispvm();
	if (o.reclaim_below == UINT64_MAX)
		o.reclaim_below = tenth_of_memory();
	if (fd < 0 ||
	    vm_table_open(&(struct vm_table_config){.state_dir = o.state_dir,
						    .lispvm = o.lispvm,
						    .log_cap = o.log_cap,
						    .quota = o.quota,
						    .jail = !o.no_jail},
			  err, sizeof(err)) < 0 ||
	    vm_pool_start(o.state_dir, o.quota.max_memory != 0 ? LISPVM_DEFAULT_MEMORY : 0, err,
			  sizeof(err)) < 0 ||
	    memory_reclaim_start(
		    &(struct reclaim_config){.below = o.reclaim_below, .psi_some = o.reclaim_psi},
		    err, sizeof(err)) < 0 ||
	    (server = http_server_start(fd, api_route, err, sizeof(err))) == NULL) {
		fprintf(stderr, "lispvmd: %s\n", err);
		if (fd >= 0 && !activated)
			unlink(o.socket_path);
		return 1;
	}
	fprintf(stderr, "lispvmd: serving %s%s\n", o.socket_path,
		activated ? " (a socket from systemd)"
		: inside  ? " (in the helper machine, for the host's socket)"
			  : "");
	socket_activation_notify("READY=1");
	sigwait(&stop, &sig);
	socket_activation_notify("STOPPING=1");
	/* Waiting requests see it within their 50 ms poll and answer 503
	 * before the server closes their connections. */
	vm_table_close();
	nanosleep(&(struct timespec){.tv_nsec = 300 * 1000 * 1000}, NULL);
	http_server_stop(server);
	close(fd);
	if (!activated) /* systemd's socket stays, for the next start */
		unlink(o.socket_path);
	return 0;
}
