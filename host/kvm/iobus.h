/* SPDX-License-Identifier: MIT */
/*
 * DOC: I/O buses - port I/O and MMIO dispatch of one domain
 *
 * A bus is a sorted array of non-overlapping handlers {base, size, ops,
 * priv}; an exit is dispatched to the handler holding its address with a
 * binary search.  Each domain has two: its port I/O space and its MMIO
 * space (what has no memory slot: the coprocessor windows).
 *
 * Locking: handlers are registered while the domain's vCPUs are not
 * running and stay until they are stopped for good, so dispatch (on a vCPU
 * thread) takes no lock.  A handler runs on any vCPU thread of its domain,
 * possibly on several at once: it locks what it shares.
 */
#ifndef VMM_IOBUS_H
#define VMM_IOBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What became of an access. */
enum io_result {
	IO_DONE,      /* handled; the vCPU goes on */
	IO_UNHANDLED, /* nothing there: reads yield all ones, writes are dropped */
	IO_STOP,      /* handled, and the vCPU must stop (the guest is done) */
};

struct io_ops {
	/* @off is relative to the handler's base; @len is 1, 2, 4 or 8. */
	enum io_result (*read)(void *priv, uint64_t off, void *data, unsigned int len);
	enum io_result (*write)(void *priv, uint64_t off, const void *data, unsigned int len);
};

struct io_handler {
	uint64_t base, size;
	const struct io_ops *ops;
	void *priv;
};

struct iobus {
	const char *name;          /* "pio", "mmio" */
	struct io_handler *h;      /* sorted by base; malloc'd */
	unsigned int nr, cap;
};

void iobus__init(struct iobus *bus, const char *name);
void iobus__exit(struct iobus *bus);

/**
 * iobus__register() - add a handler for [@base, @base+@size).
 * Returns 0, -EINVAL (empty or wrapping range), -EEXIST (overlaps one
 * already there) or -ENOMEM.
 */
int iobus__register(struct iobus *bus, uint64_t base, uint64_t size,
		    const struct io_ops *ops, void *priv);

/**
 * iobus__access() - dispatch an access of @len bytes at @addr.  Reads
 * fill @data (all ones when unhandled).  An access that straddles a
 * handler's end is unhandled.
 */
enum io_result iobus__access(struct iobus *bus, uint64_t addr, void *data,
			     unsigned int len, bool write);

#endif /* VMM_IOBUS_H */
