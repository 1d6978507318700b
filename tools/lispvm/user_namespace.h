/* SPDX-License-Identifier: MIT */
/* A user namespace of the caller's own, where it keeps its uid and gid
 * (root's too) and nothing else maps, and where it holds every capability
 * over the namespaces it makes next: what lets an unprivileged user jail
 * its VMM (jail.c) or clone mounts (mount_roots.c). */
#ifndef LISPVM_USER_NAMESPACE_H
#define LISPVM_USER_NAMESPACE_H

/* What *what says when no user namespace could be made (the process is
 * where it was). */
extern const char user_namespace_not_made[];

/* Moves the calling process into it.  0, or -1 with errno set and *what
 * naming the step that failed (user_namespace_not_made, "map the user",
 * ...). */
int user_namespace_enter(const char **what);

#endif
