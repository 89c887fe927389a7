// SPDX-License-Identifier: MIT
/*
 * DOC: exit device - implementation
 *
 * A narrower write than 32 bits still ends the guest; its status is the
 * bytes written, zero-extended.
 */
#include <string.h>

#include "board.h"
#include "exitdev.h"

static enum io_result exitdev_write(void *priv, uint64_t off, const void *data,
				    unsigned int len)
{
	struct exitdev *x = priv;
	uint32_t v = 0;

	(void)off;
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	x->status = v;
	x->written = true;
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

int exitdev__register(struct exitdev *x, struct iobus *pio)
{
	memset(x, 0, sizeof(*x));
	return iobus__register(pio, BOARD_EXIT_PORT, 4, &exitdev_ops, x);
}
