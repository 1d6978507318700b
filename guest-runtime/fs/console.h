/* SPDX-License-Identifier: MIT */
/* The program's stdin/stdout/stderr: the lispvm process's own. */
#ifndef GUEST_FS_CONSOLE_H
#define GUEST_FS_CONSOLE_H

struct file;

/* A new open file for standard descriptor fd (0, 1 or 2). */
struct file *console_open(int fd);

#endif
