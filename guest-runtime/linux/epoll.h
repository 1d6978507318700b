/* SPDX-License-Identifier: MIT */
/* epoll sets (epoll.c). */
#ifndef GUEST_LINUX_EPOLL_H
#define GUEST_LINUX_EPOLL_H

struct file;

/* f's last reference is going: every epoll set forgets it, as Linux's
 * do when a file is released. */
void epoll_file_released(struct file *f);

#endif
