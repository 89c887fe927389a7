// SPDX-License-Identifier: MIT
/*
 * DOC: I/O buses - implementation
 *
 * Insertion keeps the array sorted (a domain has a handful of handlers);
 * lookup is bsearch on the base.  See iobus.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iobus.h"

void iobus__init(struct iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void iobus__exit(struct iobus *bus)
{
	free(bus->h);
	bus->h = NULL;
	bus->nr = bus->cap = 0;
}

int iobus__register(struct iobus *bus, uint64_t base, uint64_t size,
		    const struct io_ops *ops, void *priv)
{
	unsigned int i;

	if (!size || base + size < base || !ops)
		return -EINVAL;
	for (i = 0; i < bus->nr && bus->h[i].base < base; i++)
		;
	if ((i > 0 && bus->h[i - 1].base + bus->h[i - 1].size > base) ||
	    (i < bus->nr && base + size > bus->h[i].base))
		return -EEXIST;
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 8;
		struct io_handler *n = realloc(bus->h, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		bus->h = n;
		bus->cap = cap;
	}
	memmove(&bus->h[i + 1], &bus->h[i], (bus->nr - i) * sizeof(*bus->h));
	bus->h[i] = (struct io_handler){ .base = base, .size = size, .ops = ops, .priv = priv };
	bus->nr++;
	return 0;
}

static int cmp_addr(const void *key, const void *elem)
{
	uint64_t addr = *(const uint64_t *)key;
	const struct io_handler *h = elem;

	if (addr < h->base)
		return -1;
	return addr - h->base < h->size ? 0 : 1;
}

enum io_result iobus__access(struct iobus *bus, uint64_t addr, void *data,
			     unsigned int len, bool write)
{
	const struct io_handler *h;

	h = bus->nr ? bsearch(&addr, bus->h, bus->nr, sizeof(*bus->h), cmp_addr) : NULL;
	if (!h || len > h->size - (addr - h->base)) {
		if (!write)
			memset(data, 0xff, len);
		return IO_UNHANDLED;
	}
	if (write)
		return h->ops->write ? h->ops->write(h->priv, addr - h->base, data, len) : IO_DONE;
	if (h->ops->read)
		return h->ops->read(h->priv, addr - h->base, data, len);
	memset(data, 0xff, len);
	return IO_DONE;
}
