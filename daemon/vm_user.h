/* SPDX-License-Identifier: MIT */
/*
 * Whose rights a VM runs with.  A root lispvmd serves every user and runs
 * each caller's lispvm (the VM's, and the lispvm commands it runs for
 * them: gc, snapshot) as that caller: uid, primary gid and supplementary
 * groups from the passwd and group databases, no capabilities, an
 * environment of their own.  The VM's monitor stays root's, so every
 * file the daemon reads back is root's.  A daemon of another user runs
 * every VM as itself (it serves only itself and root).
 */
#ifndef LISPVM_DAEMON_VM_USER_H
#define LISPVM_DAEMON_VM_USER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VM_USER_MAX_GROUPS 1024

struct vm_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[VM_USER_MAX_GROUPS];
	int n_groups;
	bool daemons_own; /* the daemon's own user: nothing to change */
	/* The environment their VMs and commands get: the daemon's own minus
	 * what is its service manager's, or for another user HOME, USER,
	 * LOGNAME, SHELL, XDG_RUNTIME_DIR (when /run/user/UID is theirs, or
	 * in the helper machine the daemon's one for them) and
	 * the daemon's PATH, locale and LISPVM_MACHINE and LISPVM_KERNEL. */
	const char **env;
	char strings[4 * PATH_MAX + 256];
};

/* Whether caller is the kernel's overflow uid (/proc/sys/kernel/
 * overflowuid), which SO_PEERCRED gives for every caller of another user
 * namespace whose uid is not mapped into the daemon's. */
bool vm_user_unmapped(uid_t caller);

/* The user the daemon serves as its own: its effective uid, or inside
 * the helper machine (docs/daemon.md) the host user whose daemon handed
 * itself over there (lispvmd --machine-owner; the daemon is then root).
 * That user and root may use any daemon; a daemon owned by root serves
 * every user.  Set before any thread starts. */
void vm_user_set_owner(uid_t owner);
uid_t vm_user_owner(void);

/* Inside the helper machine: another user's runtime directory is
 * root/UID, which the daemon makes (theirs, 0700) when it first runs
 * something for them.  The machine has no login manager for /run/user,
 * and /tmp there is the host's over 9p, where no socket can be bound, so
 * without it their VMs' vsock and control sockets would fail.  Set before
 * any thread starts. */
void vm_user_set_runtime_root(const char *root);

/* The uid a VM of caller's runs as: the caller's own when the daemon is
 * root's, else the owner's. */
uid_t vm_user_runs_as(uid_t caller);

/* Who caller's VMs run as, looked up before any fork (no NSS in a forked
 * child of a threaded process).  The user, or NULL with a reason (no
 * passwd entry, out of memory).  Free with vm_user_close. */
struct vm_user *vm_user_open(uid_t caller, char *err, size_t err_size);

void vm_user_close(struct vm_user *u);

/* In a forked child, before exec: takes the user's groups, gid and uid,
 * and checks that no capability is left (ambient ones cleared first; a
 * daemon whose securebits keep them fails here).  Async-signal-safe.  0,
 * or -1 with errno. */
int vm_user_become(const struct vm_user *u);

/* The identity as one word for the monitor's command line ("-": the
 * daemon's own; else UID:GID:GROUP,GROUP...), and back.  vm_user_parse:
 * 0, or -1 when the word is not one. */
#define VM_USER_FORMAT_MAX (24 + 11 * VM_USER_MAX_GROUPS)
void vm_user_format(const struct vm_user *u, char *out, size_t size);
int vm_user_parse(const char *word, struct vm_user *u);

#endif
