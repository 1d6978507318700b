/* SPDX-License-Identifier: MIT */
/*
 * What a create request asks for (POST /v1/vms), checked field by field,
 * and the `lispvm run`/`eval` command line that carries it out.  Paths
 * must be absolute: the daemon's working directory is not the caller's.
 */
#ifndef LISPVM_DAEMON_VM_SPEC_H
#define LISPVM_DAEMON_VM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define VM_NAME_MAX	 63
#define VM_SPEC_MAX_ARGV 1024

/* Whether name is a VM name: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
bool vm_name_valid(const char *name);

/* Whether v is an absolute path (a string, under 4096 bytes). */
bool vm_spec_is_path(struct json_object *v);

/* Checks a create request's body: known fields only, each of its type,
 * exactly one of program and eval.  0, or -1 with a reason for a 400. */
int vm_spec_check(struct json_object *body, char *err, size_t err_size);

/* Whether the VM has the attach agent: asked for, or resumed from a
 * running VM's snapshot (which had it). */
bool vm_spec_attachable(struct json_object *spec);

/* The command that runs the checked spec: argv[0] is lispvm, then its
 * options, the program and its arguments; NULL-terminated, pointing into
 * the spec (keep it alive) except for the strings in *owned, which the
 * caller frees with vm_spec_free_argv.  memory_cap (0: none): the guest
 * memory a quota counted for a spec without "memory", which then bounds a
 * snapshot's own size.  jail: the VMM runs in lispvm's jail (--jail).
 * -1 when it has too many words. */
int vm_spec_argv(struct json_object *spec, const char *lispvm, const char *vm_name,
		 uint64_t memory_cap, bool jail, const char **argv, size_t max, char ***owned);
void vm_spec_free_argv(char **owned);

#endif
