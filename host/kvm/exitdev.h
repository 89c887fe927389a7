/* SPDX-License-Identifier: MIT */
/*
 * DOC: exit device - how a guest ends
 *
 * One 32-bit port at BOARD_EXIT_PORT: writing a status ends the guest
 * (BOARD_EXIT_PASS is 0; board.h).  The write stops the vCPU that made it
 * (IO_STOP), and the host ends the domain with all its vCPUs.  Reads
 * return 0.  Any vCPU thread of the domain may write; the first write's
 * status is kept (under the lock, before the write returns, so before the
 * domain can be seen to end).  Its owner reads it once the domain ended.
 */
#ifndef VMM_EXITDEV_H
#define VMM_EXITDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iobus.h"

struct exitdev {
	pthread_mutex_t lock;
	bool written;          /* protected by lock */
	uint32_t status;       /* the first write's */
};

/** exitdev__init() - nothing written yet; undone by exitdev__exit(). */
void exitdev__init(struct exitdev *x);
void exitdev__exit(struct exitdev *x);

/** exitdev__register() - claim BOARD_EXIT_PORT on @pio for @x. */
int exitdev__register(struct exitdev *x, struct iobus *pio);

#endif /* VMM_EXITDEV_H */
