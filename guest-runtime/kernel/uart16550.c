/* SPDX-License-Identifier: MIT */
#include "kernel/uart16550.h"

#include "arch/x86/cpu.h"

#define COM1	      0x3f8
#define UART_THR      0 /* transmit holding (DLAB=0) */
#define UART_IER      1
#define UART_DLL      0 /* divisor low (DLAB=1) */
#define UART_DLH      1
#define UART_FCR      2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB      0x80
#define LCR_8N1	      0x03

void uart16550_init(void)
{
	outb(COM1 + UART_IER, 0); /* polled, no interrupts */
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLH, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0x07); /* enable and clear FIFOs */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void put_byte(char c)
{
	for (int spins = 0; spins < 100000 && !(inb(COM1 + UART_LSR) & LSR_THR_EMPTY); spins++)
		cpu_relax();
	outb(COM1 + UART_THR, (unsigned char)c);
}

void uart16550_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			put_byte('\r');
		put_byte(s[i]);
	}
}
