/* SPDX-License-Identifier: MIT */
/*
 * The helper machine's client (tools/kvm-machine/lispvm-machine), which
 * lispvm and lispvmd hand themselves over to on a host without /dev/kvm.
 */
#ifndef LISPVM_TOOLS_MACHINE_CLIENT_H
#define LISPVM_TOOLS_MACHINE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether commands go to the helper machine: LISPVM_MACHINE=always, or
 * (unless =never) /dev/kvm does not open. */
bool machine_client_wanted(void);

/* The first words of the client's command line: the Python that runs it
 * and the client itself. */
#define MACHINE_CLIENT_ARGV_HEAD 2
void machine_client_argv_head(char *argv[MACHINE_CLIENT_ARGV_HEAD]);

/* Replaces this process with argv (which starts with the head above);
 * returns only when that cannot be, with the reason in err. */
void machine_client_exec(char **argv, char *err, size_t err_size);

#endif
