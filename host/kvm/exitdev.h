/* SPDX-License-Identifier: MIT */
/*
 * DOC: exit device - how a guest ends
 *
 * One 32-bit port at BOARD_EXIT_PORT: writing a status ends the guest
 * (BOARD_EXIT_PASS is 0; board.h).  The write stops the vCPU (IO_STOP).
 * Reads return 0.  Written by the domain's vCPU thread only; its owner
 * reads it after joining that thread.
 */
#ifndef VMM_EXITDEV_H
#define VMM_EXITDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "iobus.h"

struct exitdev {
	bool written;
	uint32_t status;
};

/** exitdev__register() - claim BOARD_EXIT_PORT on @pio for @x. */
int exitdev__register(struct exitdev *x, struct iobus *pio);

#endif /* VMM_EXITDEV_H */
