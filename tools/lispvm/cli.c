/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <lispvm/abi.h>

#include "lispvm_config.h"
#include "memory_layout.h"
#include "mount_spec.h"
#include "size_parse.h"

enum {
	OPT_KERNEL = 256,
	OPT_APPEND,
	OPT_TIMEOUT,
	OPT_IMAGE,
	OPT_ENV,
	OPT_CWD,
	OPT_STRACE,
	OPT_MOUNT,
	OPT_SBCL_OPTION,
	OPT_CACHE,
	OPT_NO_CACHE,
	OPT_STATS,
	OPT_CORE,
	OPT_VSOCK,
	OPT_CID,
	OPT_ATTACHABLE,
	OPT_SWANK,
	OPT_NAME,
	OPT_LOAD,
	OPT_EVAL,
	OPT_SNAPSHOT,
	OPT_STOP,
	OPT_DIFF,
	OPT_GC,
	OPT_RECORD_WORKING_SET,
	OPT_PREFETCH,
	OPT_POOLED,
	OPT_SECCOMP_LOG,
	OPT_JAIL,
	OPT_JAIL_USER,
	OPT_JAIL_CPUS,
};

static const struct option long_options[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"verbose", no_argument, NULL, 'v'},
	{"memory", required_argument, NULL, 'm'},
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"append", required_argument, NULL, OPT_APPEND},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"image", required_argument, NULL, OPT_IMAGE},
	{"env", required_argument, NULL, OPT_ENV},
	{"cwd", required_argument, NULL, OPT_CWD},
	{"strace", no_argument, NULL, OPT_STRACE},
	{"mount", required_argument, NULL, OPT_MOUNT},
	{"sbcl-option", required_argument, NULL, OPT_SBCL_OPTION},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"no-cache", no_argument, NULL, OPT_NO_CACHE},
	{"stats", no_argument, NULL, OPT_STATS},
	{"seccomp-log", no_argument, NULL, OPT_SECCOMP_LOG},
	{"jail", no_argument, NULL, OPT_JAIL},
	{"jail-user", required_argument, NULL, OPT_JAIL_USER},
	{"jail-cpus", required_argument, NULL, OPT_JAIL_CPUS},
	{"core", required_argument, NULL, OPT_CORE},
	{"vsock", required_argument, NULL, OPT_VSOCK},
	{"cid", required_argument, NULL, OPT_CID},
	{"attachable", no_argument, NULL, OPT_ATTACHABLE},
	{"swank", required_argument, NULL, OPT_SWANK},
	{"name", required_argument, NULL, OPT_NAME},
	{"output", required_argument, NULL, 'o'},
	{"load", required_argument, NULL, OPT_LOAD},
	{"eval", required_argument, NULL, OPT_EVAL},
	{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	{"stop", no_argument, NULL, OPT_STOP},
	{"diff", required_argument, NULL, OPT_DIFF},
	{"gc", no_argument, NULL, OPT_GC},
	{"record-working-set", required_argument, NULL, OPT_RECORD_WORKING_SET},
	{"prefetch", required_argument, NULL, OPT_PREFETCH},
	{"pooled", required_argument, NULL, OPT_POOLED},
	{NULL, 0, NULL, 0},
};

void cli_print_help(void)
{
	printf("Usage: lispvm [OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
	       "Run a program in its own KVM microVM.\n"
	       "\n"
	       "Commands:\n"
	       "  run [OPTIONS] PROGRAM [--] [ARGS...]\n"
	       "                    run a Lisp program (a .fasl or .lisp file) with Debian's\n"
	       "                    SBCL in a fresh microVM, as 'sbcl --script PROGRAM ARGS'\n"
	       "  eval [OPTIONS] FORMS\n"
	       "                    evaluate the forms in the string, printing each one's\n"
	       "                    values, one per line\n"
	       "  repl [OPTIONS]    an interactive SBCL in a fresh microVM (Ctrl-C interrupts,\n"
	       "                    Ctrl-D leaves)\n"
	       "  boot              boot the guest runtime alone: it prints its banner and\n"
	       "                    exits\n"
	       "  exec [OPTIONS] -- /PATH/IN/GUEST [ARGS...]\n"
	       "                    run that Linux program in a fresh microVM, with its\n"
	       "                    files from the --image images\n"
	       "  attach [VM]       a REPL into a program running with 'run --attachable':\n"
	       "                    evaluate while it runs, :threads, :bt, :interrupt,\n"
	       "                    :inspect, :help (VM: its --vsock socket path, its\n"
	       "                    --name or its lispvm process id; none: the only one)\n"
	       "  machine status|start|stop\n"
	       "                    the helper machine that runs lispvm's microVMs on a host\n"
	       "                    without /dev/kvm (QEMU TCG with nested KVM, booted on first\n"
	       "                    use, stopped after $LISPVM_MACHINE_IDLE seconds idle, 300\n"
	       "                    by default); LISPVM_MACHINE=never turns it off, =always\n"
	       "                    uses it even where /dev/kvm works\n"
	       "  binfmt install|uninstall|status\n"
	       "                    (root) make fasls executable: ./prog.fasl ARGS runs as\n"
	       "                    'lispvm run prog.fasl ARGS' (a binfmt_misc handler); a\n"
	       "                    .lisp file needs only a '#!/usr/bin/env lispvm' line\n"
	       "  PATH [ARGS...]    a program given by a path (one with a '/') runs as with run\n"
	       "  prepare -o FILE [--load SYSTEM]... [--eval FORMS]... [OPTIONS]\n"
	       "                    start SBCL, load the systems (ASDF) and evaluate the forms\n"
	       "                    in order, collect garbage and save the whole VM in FILE:\n"
	       "                    'run --snapshot FILE' then starts from there; with\n"
	       "                    --snapshot BASE it starts from BASE and FILE holds only\n"
	       "                    what changed (a diff, which needs BASE to restore)\n"
	       "  snapshot [VM] -o FILE [--diff BASE] [--stop] [--gc]\n"
	       "                    save a running VM (one with --attachable, --swank or\n"
	       "                    --vsock; VM as for attach) in FILE: it is paused, saved,\n"
	       "                    then runs on, or ends with --stop; 'run --snapshot FILE'\n"
	       "                    with no program resumes it where it was; with --diff\n"
	       "                    BASE (the snapshot the VM was resumed from or took\n"
	       "                    last), FILE holds only what changed since; --gc has\n"
	       "                    the attach agent (--attachable) collect all garbage\n"
	       "                    first, so FILE holds live data only\n"
	       "  gc [VM]           have a running VM's attach agent (run --attachable; VM\n"
	       "                    as for attach) collect all garbage now: SBCL gives the\n"
	       "                    pages it frees back to the host\n"
	       "  image build -o OUT [--ldd BINARY]... [HOST[:GUEST]]...\n"
	       "                    pack host files into a read-only image (lispvm image --help)\n"
	       "\n"
	       "Through lispvmd (its socket: --socket PATH, $LISPVMD_SOCKET, or its default):\n"
	       "  start [--name N] [-d|--detach] [--label K=V]... [-m SIZE] [--mount H:G[:ro]]...\n"
	       "        [--env K=V|K]... [--cwd DIR] [--core C|--snapshot S] [--attachable]\n"
	       "        PROGRAM [ARGS...] | --eval FORMS | --snapshot SAVED\n"
	       "                    start a VM in the daemon; without --detach, print its\n"
	       "                    output, pass on INT, TERM, HUP and QUIT, and exit with its\n"
	       "                    status; with it, print its ID; --snapshot alone resumes\n"
	       "                    a VM saved by 'lispvm snapshot'\n"
	       "  ps [-a] [-q] [--label K[=V]] [--state S]\n"
	       "                    the VMs that run (-a: all; -q: IDs only)\n"
	       "  logs [-f] VM      its output so far (-f: and on until it ends)\n"
	       "  stop [-t SECONDS] VM...   SIGTERM, then SIGKILL after the grace (10 s)\n"
	       "  kill [-s SIGNAL] VM...    a signal (KILL by default)\n"
	       "  wait [--timeout SECONDS] VM...\n"
	       "                    wait for each to end; print its status; exit with the last\n"
	       "  inspect VM...     each VM as JSON\n"
	       "  stats [VM...]     CPU time and memory of each VM (all that run), now\n"
	       "  rm [-f] VM...     forget ended VMs (-f: kill first)\n"
	       "  pools [SNAPSHOT=N...]\n"
	       "                    the warm pools: VMs restored from a prepared snapshot and\n"
	       "                    waiting; 'start --snapshot SNAPSHOT PROGRAM' takes one;\n"
	       "                    SNAPSHOT=N keeps N of SNAPSHOT's (0: none) from now on\n"
	       "  events [--since SEQ] [--json]\n"
	       "                    VMs started, exited, removed, and memory given back\n"
	       "                    (lispvmd asks idle attachable VMs for a full GC when\n"
	       "                    the host runs short; 'lispvm gc VM' asks one now)\n"
	       "\n"
	       "Options (before or after the command):\n"
	       "  -m, --memory SIZE  guest RAM, e.g. 512M or 4G (default 2G; host memory\n"
	       "                     is used only as the guest touches it)\n"
	       "  -v, --verbose      say what the VMM does on stderr\n"
	       "      --kernel ELF   guest runtime to boot (default: the one built with lispvm,\n"
	       "                     or $LISPVM_KERNEL)\n"
	       "      --append ARGS  add to the guest kernel command line\n"
	       "      --timeout SECS stop the guest if it still runs after SECS seconds\n"
	       "      --stats        at exit, print on stderr what the VM cost: guest RAM\n"
	       "                     touched, in use and returned, page faults, shared image\n"
	       "                     pages and copy-on-write copies, and the host's RSS/PSS\n"
	       "                     of guest RAM, of each image and of the whole VMM; and\n"
	       "                     from KVM's dirty log, the pages the guest dirtied\n"
	       "                     (per second, mean and peak) and the log's cost\n"
	       "      --vsock PATH   give the guest a virtio-vsock device; host tools reach a\n"
	       "                     guest listener on port P by connecting to the Unix\n"
	       "                     socket PATH and writing 'CONNECT P\\n' (the answer is\n"
	       "                     'OK <hostport>\\n'), and a guest connect to host (CID 2)\n"
	       "                     port P reaches the Unix socket PATH_P (Firecracker's\n"
	       "                     convention); PATH must not exist and is removed at exit\n"
	       "      --cid N        the guest's vsock CID, 3 to 4294967294 (default 3)\n"
	       "      --jail         run the VMM jailed: new namespaces (user, mount, PID,\n"
	       "                     IPC, UTS, network), a root holding only the VM's\n"
	       "                     files, no capabilities (docs/security.md)\n"
	       "      --jail-user UID[:GID]\n"
	       "                     (root) run the jailed VMM as this user instead, which\n"
	       "                     must be able to read the VM's files and write its rw\n"
	       "                     --mount directories\n"
	       "      --jail-cpus N  (root) the jailed VMM's CPU time, in CPUs (e.g. 0.5);\n"
	       "                     root's jails also get a memory limit (--memory and\n"
	       "                     512 MiB for the VMM) and one of 64 processes\n"
	       "      --seccomp-log  (development) a system call outside the VMM's seccomp\n"
	       "                     filters is logged by the kernel's audit (dmesg), not\n"
	       "                     stopped; without it, it ends the VM with one line\n"
	       "                     naming the thread and the call\n"
	       "\n"
	       "run, eval and repl options (and --mount, --env, --strace below):\n"
	       "      --sbcl-option OPT\n"
	       "                     pass OPT to SBCL before its own options, e.g.\n"
	       "                     --sbcl-option --dynamic-space-size --sbcl-option 4GB\n"
	       "      --cache DIR    the host directory holding SBCL's image and ASDF's\n"
	       "                     compiled files (default $XDG_CACHE_HOME/lispvm or\n"
	       "                     ~/.cache/lispvm); it appears in the guest as\n"
	       "                     ~/.cache/common-lisp\n"
	       "      --no-cache     ASDF compiles into the guest's tmpfs, forgotten at exit\n"
	       "      --core CORE    run SBCL with this core (one saved with save-lisp-and-die,\n"
	       "                     e.g. with libraries loaded); it is packed once into its\n"
	       "                     own image in the cache and shared read-only by every VM\n"
	       "                     that uses it ('lispvm image build --core CORE' packs it\n"
	       "                     ahead of the first run)\n"
	       "      --attachable   (run) start the attach agent in the program: 'lispvm\n"
	       "                     attach' then reaches it over vsock\n"
	       "      --swank PORT   (run) serve SLIME: Debian's Swank runs in the program and\n"
	       "                     lispvm bridges 127.0.0.1:PORT to it, so M-x\n"
	       "                     slime-connect to 127.0.0.1 PORT reaches it\n"
	       "      --name NAME    (run) the name 'lispvm attach NAME' knows the VM by\n"
	       "                     (default: lispvm's process id)\n"
	       "      --snapshot FILE\n"
	       "                     start from a snapshot made by 'lispvm prepare' instead\n"
	       "                     of booting: its libraries are loaded already; the\n"
	       "                     program, arguments, environment, directories and stdio\n"
	       "                     are this command's, and its memory size the snapshot's;\n"
	       "                     'run --snapshot FILE' with no program resumes a\n"
	       "                     snapshot of a running VM ('lispvm snapshot') on this\n"
	       "                     command's stdio, as --attachable (--name applies)\n"
	       "      --record-working-set WS\n"
	       "                     (with --snapshot) when the program exits, write to WS\n"
	       "                     the guest pages this run touched\n"
	       "      --prefetch WS  (with --snapshot) map WS's pages in before the program\n"
	       "                     starts, instead of faulting each in at first touch\n"
	       "      --pooled SOCKET\n"
	       "                     (run --snapshot FILE, no program) a warm VM: restore\n"
	       "                     FILE's machine now, then wait for one connection on\n"
	       "                     the Unix socket SOCKET carrying the rest, a 'lispvm\n"
	       "                     run' or 'eval' command line of NUL-terminated words\n"
	       "                     with the same --snapshot (lispvmd's warm pool)\n"
	       "\n"
	       "exec options:\n"
	       "      --image IMG    an image from 'lispvm image build' (repeatable; the guest's\n"
	       "                     / is their union, the first image that has a path wins)\n"
	       "      --env K=V      add to the program's environment (repeatable); the default\n"
	       "                     environment is PATH, HOME=/root, LANG=C.UTF-8 and the\n"
	       "                     host's TERM\n"
	       "      --mount HOST:GUEST[:ro|rw[,max-size=SIZE]]\n"
	       "                     give the program host directory HOST at GUEST (an\n"
	       "                     absolute path, not /); rw (the default) lets it change\n"
	       "                     files there, ro does not; symlinks are resolved inside\n"
	       "                     the guest, never out of HOST (repeatable, at most %d);\n"
	       "                     rw,max-size=SIZE (e.g. 64M) caps what this VM adds to\n"
	       "                     HOST's disk usage, 4 KiB a name it makes: past it,\n"
	       "                     writes come back short, then ENOSPC\n"
	       "      --cwd DIR      the program's working directory (default /)\n"
	       "      --strace       print every system call and its result on stderr\n"
	       "  -h, --help         show this help and exit\n"
	       "  -V, --version      show the version and exit\n"
	       "\n"
	       "Exit status: the guest's own exit status; %d for a usage error, %d when\n"
	       "--timeout stopped the guest, %d when lispvm cannot start the VM, %d when\n"
	       "the guest runtime crashes.\n",
	       CLI_MAX_MOUNTS, LISPVM_EXIT_USAGE, LISPVM_EXIT_TIMEOUT, LISPVM_EXIT_HOST_ERROR,
	       LISPVM_EXIT_GUEST_CRASH);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("lispvm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (try 'lispvm --help')\n", stderr);
	return -1;
}

static int parse_memory(const char *arg, uint64_t *out)
{
	if (size_parse(arg, out) < 0)
		return usage_error("--memory: '%s' is not a size like 512M or 2G", arg);
	if (*out < MEMORY_MIN_SIZE || *out > MEMORY_MAX_SIZE || *out % (1 << 20) != 0)
		return usage_error("--memory: %s is impossible (16M to 1T, whole MiB)", arg);
	return 0;
}

/* Whole seconds, 1 to a day: alarm(2) granularity, and a typo such as an
 * extra zero should not silently mean "forever". */
static int parse_timeout(const char *arg, unsigned int *out)
{
	char *end;
	unsigned long seconds;

	errno = 0;
	seconds = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || seconds == 0 ||
	    seconds > CLI_MAX_TIMEOUT)
		return usage_error("--timeout: '%s' is not a whole number of seconds from 1 "
				   "to 86400",
				   arg);
	*out = (unsigned int)seconds;
	return 0;
}

/* CIDs 0-2 are the hypervisor's, the local loopback's and the host's;
 * 2^32-1 is VMADDR_CID_ANY. */
static int parse_cid(const char *arg, uint32_t *out)
{
	char *end;
	unsigned long long cid;

	errno = 0;
	cid = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || cid < CLI_MIN_CID ||
	    cid > CLI_MAX_CID)
		return usage_error("--cid: '%s' is not a CID from 3 to 4294967294", arg);
	*out = (uint32_t)cid;
	return 0;
}

static int parse_port(const char *arg, unsigned int *out)
{
	char *end;
	unsigned long port;

	errno = 0;
	port = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
		return usage_error("--swank: '%s' is not a TCP port from 1 to 65535", arg);
	*out = (unsigned int)port;
	return 0;
}

bool cli_mounted_at(const struct cli_options *opts, const char *guest_path)
{
	for (unsigned int i = 0; i < opts->nr_mounts; i++)
		if (strcmp(opts->mounts[i].guest_path, guest_path) == 0)
			return true;
	return false;
}

/* The parts keep pointing into a copy of the argument for the life of the
 * process; the argument itself stays intact for messages. */
/* UID or UID:GID (the gid is the uid's number when not given). */
static int parse_jail_user(const char *arg, struct cli_options *out)
{
	unsigned int uid, gid;
	int end = 0;

	if (sscanf(arg, "%u%n", &uid, &end) == 1 && arg[end] == '\0')
		gid = uid;
	else if (sscanf(arg, "%u:%u%n", &uid, &gid, &end) != 2 || arg[end] != '\0')
		return usage_error("--jail-user %s: expected UID or UID:GID (numbers)", arg);
	if (uid == 0 || gid == 0)
		return usage_error("--jail-user %s: a jail runs as a user other than root", arg);
	out->jail.user_given = true;
	out->jail.uid = uid;
	out->jail.gid = gid;
	return 0;
}

/* How much CPU time, in CPUs: 0.5 is half of one, 2 two whole ones. */
static int parse_jail_cpus(const char *arg, struct cli_options *out)
{
	char *end;
	double cpus = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(cpus >= 0.01 && cpus <= 1024))
		return usage_error("--jail-cpus %s: expected a number of CPUs from 0.01 to 1024",
				   arg);
	out->jail.cpu_percent = (unsigned int)(cpus * 100 + 0.5);
	return 0;
}

static int parse_mount(const char *arg, struct cli_options *out)
{
	struct guest_mount m;
	char *spec = strdup(arg);
	const char *why;

	if (spec == NULL)
		return usage_error("--mount: out of memory for '%s'", arg);
	why = mount_spec_parse(spec, &m);
	if (why != NULL) {
		fprintf(stderr, "lispvm: --mount: '%s' %s (try 'lispvm --help')\n", arg, why);
		free(spec);
		return -1;
	}
	if (cli_mounted_at(out, m.guest_path)) {
		free(spec);
		return usage_error("--mount: '%s' mounts a GUEST path a second time", arg);
	}
	if (out->nr_mounts == CLI_MAX_MOUNTS) {
		free(spec);
		return usage_error("--mount: at most %s directories", "8");
	}
	out->mounts[out->nr_mounts++] = m;
	return 0;
}

static int add_prepare_step(const char *kind, const char *arg, struct cli_options *out)
{
	char *step;

	if (out->nr_prepare_steps == CLI_MAX_PREPARE_STEPS)
		return usage_error("prepare: at most %s --load and --eval steps", "64");
	if (arg[0] == '\0')
		return usage_error("prepare: empty %s", kind[0] == 'l' ? "--load" : "--eval");
	step = malloc(strlen(kind) + strlen(arg) + 1);
	if (step == NULL)
		return usage_error("%s", "out of memory");
	strcpy(step, kind);
	strcat(step, arg);
	out->prepare_steps[out->nr_prepare_steps++] = step;
	return 0;
}

static int parse_option(int opt, struct cli_options *out)
{
	switch (opt) {
	case 'h':
		out->command = CLI_HELP;
		return 0;
	case 'V':
		out->command = CLI_VERSION;
		return 0;
	case 'v':
		out->verbose = true;
		return 0;
	case 'm':
		out->memory_given = true;
		return parse_memory(optarg, &out->memory_size);
	case 'o':
		out->snapshot_out = optarg;
		return 0;
	case OPT_LOAD:
	case OPT_EVAL:
		return add_prepare_step(opt == OPT_LOAD ? "load:" : "eval:", optarg, out);
	case OPT_SNAPSHOT:
		out->snapshot_in = optarg;
		return 0;
	case OPT_STOP:
		out->snapshot_stop = true;
		return 0;
	case OPT_DIFF:
		out->snapshot_base = optarg;
		return 0;
	case OPT_GC:
		out->snapshot_gc = true;
		return 0;
	case OPT_RECORD_WORKING_SET:
		out->working_set_out = optarg;
		return 0;
	case OPT_PREFETCH:
		out->prefetch_path = optarg;
		return 0;
	case OPT_POOLED:
		if (optarg[0] == '\0')
			return usage_error("--pooled: %s", "empty path");
		out->pooled_socket = optarg;
		return 0;
	case OPT_KERNEL:
		out->kernel_path = optarg;
		return 0;
	case OPT_APPEND:
		out->append = optarg;
		return 0;
	case OPT_TIMEOUT:
		return parse_timeout(optarg, &out->timeout_seconds);
	case OPT_IMAGE:
		if (out->nr_images == CLI_MAX_IMAGES)
			return usage_error("--image: at most %s images", "8");
		out->images[out->nr_images++] = optarg;
		return 0;
	case OPT_ENV:
		if (strchr(optarg, '=') == NULL || optarg[0] == '=')
			return usage_error("--env: '%s' is not NAME=VALUE", optarg);
		if (out->nr_env == CLI_MAX_ENV)
			return usage_error("--env: at most %s variables", "256");
		out->env[out->nr_env++] = optarg;
		return 0;
	case OPT_CWD:
		if (optarg[0] != '/')
			return usage_error("--cwd: '%s' is not an absolute path", optarg);
		out->cwd = optarg;
		return 0;
	case OPT_STRACE:
		out->strace = true;
		return 0;
	case OPT_MOUNT:
		return parse_mount(optarg, out);
	case OPT_SBCL_OPTION:
		if (out->nr_sbcl_options == CLI_MAX_SBCL_OPTIONS)
			return usage_error("--sbcl-option: at most %s options", "32");
		out->sbcl_options[out->nr_sbcl_options++] = optarg;
		return 0;
	case OPT_CACHE:
		if (optarg[0] == '\0')
			return usage_error("--cache: %s", "empty directory name");
		out->cache_dir = optarg;
		return 0;
	case OPT_STATS:
		out->stats = true;
		return 0;
	case OPT_SECCOMP_LOG:
		out->seccomp_log = true;
		return 0;
	case OPT_JAIL:
		out->jail.enabled = true;
		return 0;
	case OPT_JAIL_USER:
		return parse_jail_user(optarg, out);
	case OPT_JAIL_CPUS:
		return parse_jail_cpus(optarg, out);
	case OPT_CORE:
		out->core_path = optarg;
		return 0;
	case OPT_NO_CACHE:
		out->no_cache = true;
		return 0;
	case OPT_VSOCK:
		if (optarg[0] == '\0')
			return usage_error("--vsock: %s", "empty path");
		out->vsock_path = optarg;
		return 0;
	case OPT_CID:
		return parse_cid(optarg, &out->guest_cid);
	case OPT_ATTACHABLE:
		out->attachable = true;
		return 0;
	case OPT_SWANK:
		return parse_port(optarg, &out->swank_port);
	case OPT_NAME:
		if (optarg[0] == '\0' || strchr(optarg, '/') != NULL || strlen(optarg) > 64)
			return usage_error("--name: '%s' is not a name (1 to 64 characters, no "
					   "'/')",
					   optarg);
		out->vm_name = optarg;
		return 0;
	default:
		/* getopt has printed what was wrong. */
		return usage_error("%s", "bad option");
	}
}

/* Options until the first non-option (POSIX "+" mode), so that each
 * command's own arguments are left for it. */
static int parse_options(int argc, char **argv, struct cli_options *out)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "+hVvm:o:", long_options, NULL)) != -1)
		if (parse_option(opt, out) < 0)
			return -1;
	return 0;
}

/* image build --core CORE: lispvm's cache, not the generic image builder. */
static bool is_core_image_build(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "build") != 0)
		return false;
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], "--core", 6) == 0)
			return true;
	return false;
}

/* boot, repl and image build --core: options only. */
static int parse_no_arguments(int argc, char **argv, struct cli_options *out,
			      const char *unexpected)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind < argc)
		return usage_error(unexpected, argv[optind]);
	return 0;
}

/* run [OPTIONS] PROGRAM [--] [ARGS...]: what follows PROGRAM is the
 * program's, options included, as after 'sbcl --script PROGRAM'. */
static int parse_run(int argc, char **argv, struct cli_options *out)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind >= argc && out->snapshot_in != NULL) {
		out->resume = out->pooled_socket == NULL;
		return 0;
	}
	if (optind >= argc)
		return usage_error("%s", "run: no program given (run [OPTIONS] PROGRAM [ARGS...])");
	out->lisp_file = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	out->lisp_args = argv + optind;
	out->lisp_argc = argc - optind;
	return 0;
}

static int parse_eval(int argc, char **argv, struct cli_options *out)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind >= argc)
		return usage_error("%s", "eval: no forms given (eval [OPTIONS] '(FORM)')");
	out->eval_form = argv[optind++];
	if (optind < argc)
		return usage_error("eval: unexpected argument '%s' (quote the forms as one "
				   "argument)",
				   argv[optind]);
	return 0;
}

/* exec [OPTIONS] [--] /path args...: the options stop at the first
 * non-option or at "--" (which getopt swallows). */
static int parse_exec(int argc, char **argv, struct cli_options *out)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind >= argc)
		return usage_error("%s",
				   "exec: no program given (exec [OPTIONS] -- /PATH ARGS...)");
	if (argv[optind][0] != '/')
		return usage_error("exec: '%s' is not an absolute path in the guest", argv[optind]);
	out->exec_argv = argv + optind;
	out->exec_argc = argc - optind;
	return 0;
}

/* COMMAND VERB, VERB one of verbs (NULL-terminated). */
static int parse_verb(int argc, char **argv, const char *const *verbs, struct cli_options *out)
{
	char message[128];

	for (const char *const *verb = verbs; argc == 2 && *verb != NULL; verb++)
		if (strcmp(argv[1], *verb) == 0) {
			out->verb = *verb;
			return 0;
		}
	snprintf(message, sizeof(message), "%s: expected %s, %s or %s", argv[0], verbs[0], verbs[1],
		 verbs[2]);
	return usage_error("%s", message);
}

/* attach and gc: [OPTIONS] [VM], the VM by its socket, name or pid. */
static int parse_vm_target(int argc, char **argv, struct cli_options *out, const char *extra)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind < argc)
		out->attach_target = argv[optind++];
	if (optind < argc)
		return usage_error(extra, argv[optind]);
	return 0;
}

/* snapshot [OPTIONS] [VM] [OPTIONS]: the VM as for attach. */
static int parse_snapshot(int argc, char **argv, struct cli_options *out)
{
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind < argc)
		out->attach_target = argv[optind++];
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (optind < argc)
		return usage_error("snapshot: unexpected argument '%s'", argv[optind]);
	if (out->snapshot_out == NULL)
		return usage_error("%s", "snapshot: no file given (snapshot [VM] -o FILE)");
	return 0;
}

/* run --snapshot FILE with no program resumes a running VM's snapshot:
 * what it runs, and where, is the snapshot's. */
static int check_resume_options(const struct cli_options *out)
{
	if (out->nr_mounts || out->nr_env || out->cwd || out->nr_sbcl_options || out->strace)
		return usage_error("%s", "run --snapshot FILE with no program resumes a running "
					 "VM as it was: no --mount, --env, --cwd, --sbcl-option "
					 "or --strace");
	return 0;
}

/* A pooled VM has its machine from the command line, and all the rest
 * from the invocation it is sent (pooled_vm.c). */
static int check_pooled_options(const struct cli_options *out)
{
	if (out->command != CLI_RUN || out->snapshot_in == NULL || out->lisp_file != NULL)
		return usage_error("%s", "--pooled SOCKET goes with run --snapshot FILE and no "
					 "program: the program comes through SOCKET");
	if (out->nr_mounts || out->nr_env || out->cwd || out->nr_sbcl_options || out->strace ||
	    out->attachable || out->swank_port || out->vsock_path || out->vm_name ||
	    out->timeout_seconds || out->stats || out->prefetch_path || out->working_set_out)
		return usage_error("%s", "run --pooled: what the program gets (--mount, --env, "
					 "--cwd, --timeout, ...) comes with its invocation");
	return 0;
}

/* Which options go with which command, once all are parsed. */
static int check_snapshot_options(const struct cli_options *out)
{
	bool lisp = out->command == CLI_RUN || out->command == CLI_EVAL || out->command == CLI_REPL;

	if (out->command == CLI_PREPARE && out->snapshot_out == NULL)
		return usage_error("%s", "prepare: no snapshot file given (prepare -o FILE ...)");
	if ((out->snapshot_stop || out->snapshot_base || out->snapshot_gc) &&
	    out->command != CLI_SNAPSHOT)
		return usage_error("%s", "--stop, --diff and --gc go with snapshot");
	if (out->command == CLI_SNAPSHOT)
		return 0;
	if (out->command != CLI_PREPARE && out->command != CLI_IMAGE &&
	    (out->snapshot_out != NULL || out->nr_prepare_steps != 0))
		return usage_error("%s", "-o, --load and --eval go with prepare and snapshot");
	if (out->snapshot_in != NULL && !lisp && out->command != CLI_PREPARE)
		return usage_error("%s", "--snapshot goes with run, eval, repl and prepare");
	if (out->snapshot_in != NULL && out->core_path != NULL)
		return usage_error("%s", "--snapshot: the snapshot has its core; no --core");
	if ((out->working_set_out != NULL || out->prefetch_path != NULL) &&
	    (out->snapshot_in == NULL || !lisp))
		return usage_error("%s", "--record-working-set and --prefetch go with run, eval "
					 "and repl --snapshot");
	if (out->working_set_out != NULL && out->prefetch_path != NULL)
		return usage_error("%s", "--record-working-set records a run without --prefetch");
	if (out->pooled_socket != NULL)
		return check_pooled_options(out);
	if (out->resume)
		return check_resume_options(out);
	if ((out->snapshot_in != NULL || out->command == CLI_PREPARE) &&
	    (out->attachable || out->swank_port != 0 || out->vsock_path != NULL))
		return usage_error("%s", "prepared snapshots do not take --attachable, --swank or "
					 "--vsock yet");
	return 0;
}

static int parse_command(int argc, char **argv, struct cli_options *out);

int cli_parse(int argc, char **argv, struct cli_options *out)
{
	if (parse_command(argc, argv, out) < 0)
		return -1;
	return check_snapshot_options(out);
}

static int parse_command(int argc, char **argv, struct cli_options *out)
{
	const char *command;

	*out = (struct cli_options){.memory_size = CLI_DEFAULT_MEMORY, .guest_cid = CLI_MIN_CID};
	opterr = 1;
	/* 0, not 1: glibc then forgets a cluster a previous parse (a pooled
	 * VM's refused invocation) stopped in. */
	optind = 0;
	if (parse_options(argc, argv, out) < 0)
		return -1;
	if (out->command != CLI_NONE)
		return 0;
	if (optind >= argc)
		return usage_error("%s", "no command given");
	command = argv[optind];
	/* getopt_long restarts at argv[optind] only when optind is reset to
	 * point there; shift the vector so the command is argv[0]. */
	argc -= optind;
	argv += optind;
	optind = 1;
	if (strcmp(command, "boot") == 0) {
		out->command = CLI_BOOT;
		return parse_no_arguments(argc, argv, out, "boot: unexpected argument '%s'");
	}
	if (strcmp(command, "run") == 0) {
		out->command = CLI_RUN;
		return parse_run(argc, argv, out);
	}
	if (strcmp(command, "eval") == 0) {
		out->command = CLI_EVAL;
		return parse_eval(argc, argv, out);
	}
	if (strcmp(command, "prepare") == 0) {
		out->command = CLI_PREPARE;
		return parse_no_arguments(argc, argv, out, "prepare: unexpected argument '%s'");
	}
	if (strcmp(command, "repl") == 0) {
		out->command = CLI_REPL;
		return parse_no_arguments(argc, argv, out, "repl: unexpected argument '%s'");
	}
	if (strcmp(command, "exec") == 0) {
		out->command = CLI_EXEC;
		return parse_exec(argc, argv, out);
	}
	if (strcmp(command, "attach") == 0) {
		out->command = CLI_ATTACH;
		return parse_vm_target(argc, argv, out, "attach: unexpected argument '%s'");
	}
	if (strcmp(command, "snapshot") == 0) {
		out->command = CLI_SNAPSHOT;
		return parse_snapshot(argc, argv, out);
	}
	if (strcmp(command, "gc") == 0) {
		out->command = CLI_GC;
		return parse_vm_target(argc, argv, out, "gc: unexpected argument '%s'");
	}
	if (strcmp(command, "machine") == 0) {
		out->command = CLI_MACHINE;
		return parse_verb(argc, argv, (const char *[]){"status", "start", "stop", NULL},
				  out);
	}
	if (strcmp(command, "binfmt") == 0) {
		out->command = CLI_BINFMT;
		return parse_verb(argc, argv,
				  (const char *[]){"install", "uninstall", "status", NULL}, out);
	}
	/* A path as the command is a program: binfmt_misc runs an executable
	 * fasl as 'lispvm /path/prog.fasl ARGS', and a "#!/usr/bin/env lispvm"
	 * line gives 'lispvm ./prog.lisp ARGS'. */
	if (strchr(command, '/') != NULL) {
		out->command = CLI_RUN;
		out->lisp_file = command;
		out->lisp_args = argv + 1;
		out->lisp_argc = argc - 1;
		return 0;
	}
	if (strcmp(command, "image") == 0 && is_core_image_build(argc, argv)) {
		out->command = CLI_IMAGE_CORE;
		return parse_no_arguments(argc - 1, argv + 1, out,
					  "image build --core: unexpected argument '%s'");
	}
	if (strcmp(command, "image") == 0) {
		out->command = CLI_IMAGE;
		out->image_argv = argv;
		out->image_argc = argc;
		return 0;
	}
	return usage_error("unknown command '%s'", command);
}
