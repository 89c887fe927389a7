/* SPDX-License-Identifier: MIT */
/*
 * DOC: coprocessor glue - the native simcp driver in a guest
 *
 * Binds driver/simcp (compiled unchanged into the guest) to the board: its
 * register accessors are plain 32-bit MMIO loads and stores at the window
 * the host describes in board_info.devs[] (each one traps to the host),
 * its ring is guest RAM (identity-mapped: the CPU address is the DMA
 * address), and its interrupt comes through the IOAPIC on a vector of its
 * own, where the handler runs simcp_drv_irq().
 *
 * Concurrency: the driver is not reentrant, so every call made by mainline
 * code runs with interrupts disabled (the handler is the other caller).
 * The handler's findings (completed fence, faults) are kept here and read
 * by mainline with interrupts disabled - no register read is needed to
 * learn that a fence completed.
 */
#ifndef GUEST_CP_H
#define GUEST_CP_H

#include "rt.h"
#include "simcp_drv.h"

struct cp {
	struct simcp_drv drv;
	const struct board_dev *dev;
	int vector;
	void *ring;
	uint32_t ring_size;

	/* Written by the interrupt handler. */
	volatile uint64_t fence_done;  /* highest fence known complete */
	volatile uint64_t irqs;        /* handler runs */
	volatile uint64_t spurious;    /* runs that found nothing pending */
	volatile uint64_t errors;      /* SIMCP_IRQ_ERROR seen */
	volatile uint64_t foreign;     /* fence values this domain never emitted */
	volatile bool faulted;         /* an error not yet recovered */
	struct simcp_drv_fault fault;  /* the last one */
};

/**
 * cp__init() - find the board's simcp, allocate a @ring_size ring, route
 * its interrupt, and initialise the driver with fences starting at
 * domid << 40 (so a fence of another domain would be noticed).
 * Returns 0, or -1 after printing why.
 */
int cp__init(struct cp *cp, uint32_t ring_size);

/**
 * cp__submit() - queue @cmd, ringing the doorbell and waiting (until
 * @deadline_ns) while the ring is full.  Returns 0 or a negative
 * SIMCP_DRV_E* code (-SIMCP_DRV_EAGAIN: still full at the deadline).
 */
int cp__submit(struct cp *cp, const struct simcp_cmd *cmd, uint64_t deadline_ns);

/** cp__fence() - as cp__submit() for a FENCE; its value in *@value. */
int cp__fence(struct cp *cp, bool irq, uint64_t *value, uint64_t deadline_ns);

/** cp__kick() - ring the doorbell for what was queued. */
void cp__kick(struct cp *cp);

/**
 * cp__wait() - halt until fence @value completed, a fault is reported, or
 * @deadline_ns.  Returns 0 (done), -1 (deadline), -2 (faulted).
 */
int cp__wait(struct cp *cp, uint64_t value, uint64_t deadline_ns);

/**
 * cp__recover() - after a fault: resume the ring past the faulting
 * command.  Returns the fences lost (>= 0) or a negative SIMCP_DRV_E* code.
 */
int cp__recover(struct cp *cp);

/** cp__fence_base() - the first fence value of this domain (domid << 40). */
uint64_t cp__fence_base(void);

#endif /* GUEST_CP_H */
