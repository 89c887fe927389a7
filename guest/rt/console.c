// SPDX-License-Identifier: MIT
/*
 * DOC: console - 16550 UART output and printf
 *
 * A transmit-only driver for the 16550 at BOARD_COM1_PORT: 8N1, FIFO on,
 * no interrupts.  It waits for THRE (transmitter holding register empty)
 * and then writes up to a FIFO's worth (16 bytes) before looking again, as
 * a 16550A allows; each access is a port I/O exit, so this halves them.
 *
 * The formatter is shared by printf() (through a 128-byte buffer flushed
 * to the UART) and snprintf().
 */
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

struct out {
	char *buf;      /* snprintf: the caller's buffer */
	size_t size;
	size_t len;     /* characters produced so far */
	bool console;   /* printf: buffer and flush to the UART */
	char line[128];
	size_t n;
};

static void out_flush(struct out *o)
{
	if (o->console && o->n) {
		console__write(o->line, o->n);
		o->n = 0;
	}
}

static void out_c(struct out *o, char c)
{
	if (o->console) {
		if (o->n == sizeof(o->line))
			out_flush(o);
		o->line[o->n++] = c;
	} else if (o->len + 1 < o->size) {
		o->buf[o->len] = c;
	}
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

static void out_num(struct out *o, unsigned long long v, unsigned int base, bool upper,
		    bool neg, int width, bool left, bool zero, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = prefix ? (int)strlen(prefix) : 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	width -= n + (neg ? 1 : 0) + plen;
	if (!left && !zero)
		out_pad(o, ' ', width);
	if (neg)
		out_c(o, '-');
	for (int i = 0; i < plen; i++)
		out_c(o, prefix[i]);
	if (!left && zero)
		out_pad(o, '0', width);
	while (n)
		out_c(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false;
		int width = 0, prec = -1, lng = 0;
		unsigned long long u;
		long long s;
		const char *str;

		if (*fmt != '%') {
			out_c(o, *fmt);
			continue;
		}
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = true;
			else if (fmt[1] == '0')
				zero = true;
			else if (fmt[1] == '#')
				alt = true;
			else
				break;
		}
		fmt++;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z')
				lng = 2;
			else if (*fmt != 'h')
				break;
		}
		switch (*fmt) {
		case 'd': case 'i':
			s = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			u = s < 0 ? 0ull - (unsigned long long)s : (unsigned long long)s;
			out_num(o, u, 10, false, s < 0, width, left, zero, NULL);
			break;
		case 'u': case 'x': case 'X':
			u = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			out_num(o, u, *fmt == 'u' ? 10 : 16, *fmt == 'X', false, width, left,
				zero, alt && *fmt != 'u' && u ? (*fmt == 'X' ? "0X" : "0x") : NULL);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			out_num(o, u, 16, false, false, width, left, zero, "0x");
			break;
		case 'c':
			out_pad(o, ' ', left ? 0 : width - 1);
			out_c(o, (char)va_arg(ap, int));
			out_pad(o, ' ', left ? width - 1 : 0);
			break;
		case 's': {
			int n;

			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			for (n = 0; str[n] && (prec < 0 || n < prec); n++)
				;
			out_pad(o, ' ', left ? 0 : width - n);
			for (int i = 0; i < n; i++)
				out_c(o, str[i]);
			out_pad(o, ' ', left ? width - n : 0);
			break;
		}
		case '%':
			out_c(o, '%');
			break;
		case '\0':
			return;
		default:
			out_c(o, '%');
			out_c(o, *fmt);
			break;
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };

	format(&o, fmt, ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct out o = { .console = true };

	format(&o, fmt, ap);
	out_flush(&o);
	return (int)o.len;
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
