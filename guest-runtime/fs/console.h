/* SPDX-License-Identifier: MIT */
/* The program's stdin/stdout/stderr: the lispvm process's own. */
#ifndef GUEST_FS_CONSOLE_H
#define GUEST_FS_CONSOLE_H

#include <stdint.h>

struct file;

/* Which of fds 0..2 are terminals on the host, and the window size. */
void console_configure(uint32_t tty_mask, uint16_t rows, uint16_t cols);

/* A new open file for standard descriptor fd (0, 1 or 2). */
struct file *console_open(int fd);

#endif
