// SPDX-License-Identifier: MIT
/*
 * DOC: console - 16550 UART output and printf
 *
 * A transmit-only driver for the 16550 at BOARD_COM1_PORT: 8N1, FIFO on,
 * no interrupts.  It waits for THRE (transmitter holding register empty)
 * and then writes up to a FIFO's worth (16 bytes) before looking again, as
 * a 16550A allows; each access is a port I/O exit, so this halves them.
 *
 * Formatting is the core's (vc_vformat() in core/util.c, built into the
 * runtime with the guest's flags): printf() streams it through a 128-byte
 * buffer flushed to the UART, snprintf() into the caller's buffer.
 */
#include <vcoproc/util.h>

#include "rt.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define UART_LSR_THRE 0x20
#define UART_FIFO_SIZE 16

void console__init(void)
{
	const uint16_t p = BOARD_COM1_PORT;

	outb(p + UART_IER, 0x00);
	outb(p + UART_LCR, 0x80);	/* DLAB: divisor 1, 115200 baud */
	outb(p + UART_DLL, 0x01);
	outb(p + UART_DLM, 0x00);
	outb(p + UART_LCR, 0x03);	/* 8N1 */
	outb(p + UART_FCR, 0x07);	/* FIFO on, both cleared */
	outb(p + UART_MCR, 0x03);	/* DTR, RTS */
}

void console__write(const char *s, size_t len)
{
	const uint16_t p = BOARD_COM1_PORT;

	while (len) {
		size_t n = MIN(len, (size_t)UART_FIFO_SIZE);
		unsigned int spins = 0;

		while (!(inb(p + UART_LSR) & UART_LSR_THRE) && ++spins < 1000000)
			cpu_relax();
		for (size_t i = 0; i < n; i++)
			outb(p + UART_THR, (uint8_t)s[i]);
		s += n;
		len -= n;
	}
}

/* ---- formatting ------------------------------------------------------------ */

/* printf's line buffer: flushed to the UART when full and at the end. */
struct con_line {
	char buf[128];
	size_t n;
};

static void con_put(void *opaque, char c)
{
	struct con_line *l = opaque;

	if (l->n == sizeof(l->buf)) {
		console__write(l->buf, l->n);
		l->n = 0;
	}
	l->buf[l->n++] = c;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vc_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vc_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct con_line l = { .n = 0 };
	int n = vc_vformat(con_put, &l, fmt, ap);

	if (l.n)
		console__write(l.buf, l.n);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
