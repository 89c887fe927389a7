// SPDX-License-Identifier: MIT
/*
 * DOC: exit device - implementation
 *
 * A narrower write than 32 bits still ends the guest; its status is the
 * bytes written, zero-extended.  A second write (another vCPU ending the
 * guest at the same time) stops its vCPU too but changes nothing.
 */
#include <string.h>

#include <hw/board.h>
#include "exitdev.h"

static enum io_result exitdev_write(void *priv, uint64_t off, const void *data,
				    unsigned int len)
{
	struct exitdev *x = priv;
	uint32_t v = 0;

	(void)off;
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	pthread_mutex_lock(&x->lock);
	if (!x->written) {
		x->status = v;
		x->written = true;
	}
	pthread_mutex_unlock(&x->lock);
	return IO_STOP;
}

static enum io_result exitdev_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	(void)priv;
	(void)off;
	memset(data, 0, len);
	return IO_DONE;
}

static const struct io_ops exitdev_ops = {
	.read = exitdev_read,
	.write = exitdev_write,
};

void exitdev__init(struct exitdev *x)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
}

void exitdev__exit(struct exitdev *x)
{
	pthread_mutex_destroy(&x->lock);
}

int exitdev__register(struct exitdev *x, struct iobus *pio)
{
	return iobus__register(pio, BOARD_EXIT_PORT, 4, &exitdev_ops, x);
}
