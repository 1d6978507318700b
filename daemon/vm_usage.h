/* SPDX-License-Identifier: MIT */
/* A running VM's figures, from /proc: its VMM's CPU time and memory, with
 * those of the lispvm processes of its jail (the one started, the keeper)
 * when it has one.  Only where the VM's process is lispvm running VMs
 * here: in the helper machine (a host without /dev/kvm) the process here
 * forwards to a VMM the daemon cannot see. */
#ifndef LISPVM_DAEMON_VM_USAGE_H
#define LISPVM_DAEMON_VM_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct vm_usage {
	double cpu_seconds; /* user + system, all threads */
	uint64_t rss;	    /* bytes resident */
	uint64_t rss_anon;  /* of which anonymous: guest memory, not the shared core */
};

/* The lispvm binary VMs run: a process running another one is no VMM. */
void vm_usage_init(const char *lispvm);

/* 0, or -1 when pid is gone or not a VMM of this host. */
int vm_usage_get(pid_t pid, struct vm_usage *out);

/* {"cpu_seconds", "rss", "rss_anon"}, or NULL as vm_usage_get fails. */
struct json_object *vm_usage_describe(pid_t pid);

#endif
