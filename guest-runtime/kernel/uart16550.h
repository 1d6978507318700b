/* SPDX-License-Identifier: MIT */
/* The COM1 16550 UART, the console when not under lispvm. */
#ifndef GUEST_KERNEL_UART16550_H
#define GUEST_KERNEL_UART16550_H

#include <stddef.h>

void uart16550_init(void);
void uart16550_write(const char *s, size_t len);

#endif
