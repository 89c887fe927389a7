// SPDX-License-Identifier: MIT
/*
 * DOC: 16550 UART - implementation
 *
 * Register offsets from the base port, DLAB (LCR bit 7) selecting the
 * divisor latch at 0 and 1:
 *
 *   0 THR (w) / RBR (r) / DLL     4 MCR
 *   1 IER / DLM                   5 LSR (r): THRE | TEMT, never data ready
 *   2 IIR (r) / FCR (w)           6 MSR (r): CTS | DSR | DCD
 *   3 LCR                         7 SCR
 */
#include <errno.h>
#include <string.h>

#include <hw/board.h>
#include "serial.h"

#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_IIR_NONE 0x01
#define UART_IIR_FIFO 0xc0
#define UART_MSR_IDLE 0xb0

void serial__init(struct serial *s, serial_line_fn *line, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->line_fn = line;
	s->line_opaque = opaque;
	pthread_mutex_init(&s->lock, NULL);
}

static void serial_line_out(struct serial *s)
{
	s->line[s->n] = '\0';
	s->line_fn(s->line_opaque, s->line, s->n);
	s->n = 0;
}

static void serial_tx(struct serial *s, uint8_t c)
{
	s->bytes++;
	if (c == '\n') {
		serial_line_out(s);
		return;
	}
	s->line[s->n++] = (char)c;
	if (s->n == sizeof(s->line) - 1)
		serial_line_out(s);
}

static enum io_result serial_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	struct serial *s = priv;
	uint8_t v = 0;
	bool dlab;

	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case 0: v = dlab ? s->dll : 0; break;
	case 1: v = dlab ? s->dlm : s->ier; break;
	case 2: v = UART_IIR_NONE | ((s->fcr & 1) ? UART_IIR_FIFO : 0); break;
	case 3: v = s->lcr; break;
	case 4: v = s->mcr; break;
	case 5: v = UART_LSR_THRE | UART_LSR_TEMT; break;
	case 6: v = UART_MSR_IDLE; break;
	case 7: v = s->scr; break;
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
	return IO_DONE;
}

static enum io_result serial_write(void *priv, uint64_t off, const void *data,
				   unsigned int len)
{
	struct serial *s = priv;
	uint8_t v = *(const uint8_t *)data;
	bool dlab;

	(void)len;
	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case 0:
		if (dlab)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case 1:
		if (dlab)
			s->dlm = v;
		else
			s->ier = v & 0x0f;
		break;
	case 2: s->fcr = v & 0xc9; break; /* FIFO enable, DMA mode, trigger level */
	case 3: s->lcr = v; break;
	case 4: s->mcr = v & 0x1f; break;
	case 7: s->scr = v; break;
	}
	pthread_mutex_unlock(&s->lock);
	return IO_DONE;
}

static const struct io_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

int serial__register(struct serial *s, struct iobus *pio)
{
	return iobus__register(pio, BOARD_COM1_PORT, 8, &serial_ops, s);
}

void serial__exit(struct serial *s)
{
	if (s->n)
		serial_line_out(s);
	pthread_mutex_destroy(&s->lock);
}
