/* SPDX-License-Identifier: MIT */
/* The current process's file descriptor table. */
#ifndef GUEST_LINUX_FD_H
#define GUEST_LINUX_FD_H

#include <stdbool.h>

struct file;

/* The file behind fd with a reference held (file_put it), or NULL. */
struct file *fd_get(int fd);
/* Installs f (taking over the caller's reference) at the lowest free
 * descriptor >= min.  Returns the descriptor or -EMFILE. */
int fd_install(struct file *f, int min, bool cloexec);
/* Puts f at exactly fd, closing what was there. */
int fd_install_at(struct file *f, int fd, bool cloexec);
int fd_close(int fd);
bool fd_cloexec(int fd);
int fd_set_cloexec(int fd, bool on);

#endif
