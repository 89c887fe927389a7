// SPDX-License-Identifier: MIT
/*
 * DOC: coprocessor glue - implementation
 *
 * See cp.h.  The IOAPIC input is routed only after the driver has reset
 * and programmed the device, and the handler is registered before that:
 * an interrupt can never find the driver half set up.
 */
#include "cp.h"

static uint32_t cp_read32(void *opaque, uint32_t off)
{
	const struct cp *cp = opaque;

	return mmio_read32(cp->dev->base + off);
}

static void cp_write32(void *opaque, uint32_t off, uint32_t val)
{
	const struct cp *cp = opaque;

	mmio_write32(cp->dev->base + off, val);
}

static void cp_irq(struct trap_frame *f, void *arg)
{
	struct cp *cp = arg;
	struct simcp_drv_irq_info info;

	(void)f;
	cp->irqs++;
	if (!simcp_drv_irq(&cp->drv, &info)) {
		cp->spurious++;
		return;
	}
	/* Isolation: a fence value must be one this domain emitted (or 0 after a reset). */
	if (info.fence_raw && (info.fence_raw < cp__fence_base() ||
			       info.fence_raw > simcp_drv_fence_emitted(&cp->drv)))
		cp->foreign++;
	cp->fence_done = info.fence;
	if (info.status & SIMCP_IRQ_ERROR) {
		cp->errors++;
		cp->fault = info.fault;
		cp->faulted = true;
	}
}

uint64_t cp__fence_base(void)
{
	return (uint64_t)rt_board->domid << 40;
}

int cp__init(struct cp *cp, uint32_t ring_size)
{
	struct simcp_drv_bus bus = { cp_read32, cp_write32, cp };
	struct simcp_drv_ring ring;
	bool irqs;
	int r;

	memset(cp, 0, sizeof(*cp));
	cp->dev = rt_simcp_dev(rt_board);
	if (!cp->dev) {
		printf("cp: the board has no simcp\n");
		return -1;
	}
	cp->ring_size = ring_size;
	cp->ring = mem__zalloc(ring_size, 4096);
	if (!cp->ring) {
		printf("cp: no memory for a %u-byte ring\n", ring_size);
		return -1;
	}
	cp->vector = trap__alloc_vector(cp_irq, cp);
	if (cp->vector < 0) {
		printf("cp: no interrupt vector left\n");
		return -1;
	}
	ring = (struct simcp_drv_ring){
		.va = cp->ring, .pa = virt_to_phys(cp->ring), .size = ring_size,
	};
	irqs = irq_save();
	r = simcp_drv_init(&cp->drv, &bus, &ring, cp__fence_base());
	irq_restore(irqs);
	if (r) {
		printf("cp: simcp at %#llx: %s\n", (unsigned long long)cp->dev->base,
		       simcp_drv_strerror(r));
		return -1;
	}
	cp->fence_done = cp__fence_base();
	if (ioapic__route(cp->dev->gsi, (unsigned int)cp->vector)) {
		printf("cp: no IOAPIC input %u\n", cp->dev->gsi);
		return -1;
	}
	return 0;
}

int cp__submit(struct cp *cp, const struct simcp_cmd *cmd, uint64_t deadline_ns)
{
	for (;;) {
		bool irqs = irq_save();
		int r = simcp_drv_submit(&cp->drv, cmd);

		irq_restore(irqs);
		if (r != -SIMCP_DRV_EAGAIN)
			return r;
		/* Full: let the device see what is queued and wait for an interrupt. */
		cp__kick(cp);
		if (clock__ns() >= deadline_ns)
			return r;
		irq_disable();
		irq_wait();
	}
}

int cp__fence(struct cp *cp, bool irq, uint64_t *value, uint64_t deadline_ns)
{
	for (;;) {
		bool irqs = irq_save();
		int r = simcp_drv_fence(&cp->drv, irq, value);

		irq_restore(irqs);
		if (r != -SIMCP_DRV_EAGAIN)
			return r;
		cp__kick(cp);
		if (clock__ns() >= deadline_ns)
			return r;
		irq_disable();
		irq_wait();
	}
}

void cp__kick(struct cp *cp)
{
	bool irqs = irq_save();

	simcp_drv_kick(&cp->drv);
	irq_restore(irqs);
}

struct cp_wait {
	struct cp *cp;
	uint64_t value;
};

static bool cp_wait_done(void *arg)
{
	const struct cp_wait *w = arg;

	return w->cp->fence_done >= w->value || w->cp->faulted;
}

int cp__wait(struct cp *cp, uint64_t value, uint64_t deadline_ns)
{
	struct cp_wait w = { cp, value };

	if (!rt_wait(cp_wait_done, &w, deadline_ns))
		return -1;
	return cp->fence_done >= value ? 0 : -2;
}

int cp__recover(struct cp *cp)
{
	bool irqs = irq_save();
	int r = simcp_drv_recover(&cp->drv, SIMCP_DRV_RESUME);

	cp->faulted = false;
	cp->fence_done = simcp_drv_fence_done(&cp->drv);
	irq_restore(irqs);
	return r;
}
