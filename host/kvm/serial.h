/* SPDX-License-Identifier: MIT */
/*
 * DOC: 16550 UART - a domain's console
 *
 * The transmit side of a 16550A at BOARD_COM1_PORT: the registers a
 * driver programs (divisor, LCR, FCR, MCR, IER, scratch) keep their values;
 * the transmitter is always empty (LSR.THRE|TEMT), so every byte written
 * to THR is taken at once.  No receive data, no interrupts.
 *
 * Output is cut into lines: each goes to the domain's log file and, when
 * echo is on, to stdout as "[name] line".  The last line starting with
 * "result:" is kept for the host's summary.
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

struct serial {
	pthread_mutex_t lock;      /* everything below but prefix, log and echo */
	char prefix[48];           /* "[name] " */
	FILE *log;                 /* owned; NULL: no log file */
	bool echo;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	char line[SERIAL_LINE_MAX];
	size_t n;
	char result[SERIAL_LINE_MAX]; /* last "result:" line, "" if none */
	uint64_t bytes;            /* bytes transmitted */
	/* Each complete line (with its "\n") is also handed to tee (under lock). */
	void (*tee)(void *opaque, const char *buf, size_t len);
	void *tee_opaque;
};

/**
 * serial__init() - a UART for domain @name, logging to @log_path (NULL:
 * none; the file is truncated) and echoing when @echo.
 * Returns 0 or -errno (the log cannot be opened).
 */
int serial__init(struct serial *s, const char *name, const char *log_path, bool echo);

/** serial__register() - claim the UART's 8 ports on @pio. */
int serial__register(struct serial *s, struct iobus *pio);

/** serial__exit() - flush a partial line and close the log (after serial__init() succeeded). */
void serial__exit(struct serial *s);

#endif /* VMM_SERIAL_H */
