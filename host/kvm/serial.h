/* SPDX-License-Identifier: MIT */
/*
 * DOC: 16550 UART - a domain's console
 *
 * The transmit side of a 16550A at BOARD_COM1_PORT: the registers a
 * driver programs (divisor, LCR, FCR, MCR, IER, scratch) keep their values;
 * the transmitter is always empty (LSR.THRE|TEMT), so every byte written
 * to THR is taken at once.  No receive data, no interrupts.
 *
 * Output is cut into lines, each handed to the owner's line function
 * (without its newline): the domain's console.
 *
 * Locking: the registers and the line under the UART's lock, so that the
 * domain's vCPU threads may write at once (their bytes interleave as on
 * a real UART); the owner reads result after the threads are joined.  An
 * echoed line is written with one stdio call, so lines of different
 * domains do not interleave.
 */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iobus.h"

#define SERIAL_LINE_MAX 256

/** What receives each line: @len bytes (no newline; NUL-terminated), under the UART's lock. */
typedef void serial_line_fn(void *opaque, const char *line, size_t len);

struct serial {
	pthread_mutex_t lock;      /* everything below but line_fn and line_opaque */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	char line[SERIAL_LINE_MAX];
	size_t n;
	uint64_t bytes;            /* bytes transmitted */
	serial_line_fn *line_fn;
	void *line_opaque;
};

/** serial__init() - a UART whose lines go to @line(@opaque, ...); undone by serial__exit(). */
void serial__init(struct serial *s, serial_line_fn *line, void *opaque);

/** serial__register() - claim the UART's 8 ports on @pio. */
int serial__register(struct serial *s, struct iobus *pio);

/** serial__exit() - hand on a partial line. */
void serial__exit(struct serial *s);

#endif /* VMM_SERIAL_H */
