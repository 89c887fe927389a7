// SPDX-License-Identifier: MIT
/*
 * The native simcp driver against the real simcp device model, with no
 * framework in between: one context loaded and started on a virtual-time
 * device, the driver's bus calling simcp_mmio() on it.  Ring wrap, a full
 * ring, fence ordering and interrupts, fault recovery by RESUME and by
 * RESET, a hang reset, and the checks on init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/vtime.h>

#include "simcp.h"
#include "simcp_drv.h"

#define GPA       0x80000000ull
#define MEM_SIZE  (256u * 1024u)
#define DATA_OFF  0x10000u

struct rig {
	struct simcp *dev;
	struct simcp_ctx *x;
	uint8_t *mem;
	struct vc_iommu_region region;
	struct vc_iommu io;
	struct simcp_drv drv;
	unsigned int irq_events;
	unsigned int idle_events;
};

static struct rig rig;

static void sink(void *opaque, uint32_t tag, enum vc_event ev)
{
	struct rig *r = opaque;

	assert_int_equal(tag, 7);
	if (ev == VC_EV_IRQ)
		r->irq_events++;
	else if (ev == VC_EV_IDLE)
		r->idle_events++;
}

static uint32_t dev_read(void *opaque, uint32_t off)
{
	struct rig *r = opaque;
	uint64_t v = 0;

	assert_int_equal(simcp_mmio(r->x, off, 4, false, &v), VC_IO_OK);
	return (uint32_t)v;
}

static void dev_write(void *opaque, uint32_t off, uint32_t val)
{
	struct rig *r = opaque;
	uint64_t v = val;

	assert_int_not_equal(simcp_mmio(r->x, off, 4, true, &v), VC_IO_BAD);
}

static const struct simcp_drv_bus bus = { dev_read, dev_write, &rig };

static int setup(void **state)
{
	struct simcp_config cfg = {
		.mode = SIMCP_MODE_VTIME, .event = sink, .event_opaque = &rig,
	};

	(void)state;
	vc_vtime_reset();
	memset(&rig, 0, sizeof(rig));
	rig.mem = calloc(1, MEM_SIZE);
	assert_non_null(rig.mem);
	rig.region = (struct vc_iommu_region){
		.gpa = GPA, .size = MEM_SIZE, .hva = rig.mem, .writable = true,
	};
	rig.io = (struct vc_iommu){ .regions = &rig.region, .nr_regions = 1 };
	assert_int_equal(simcp_create(&cfg, &rig.dev), 0);
	assert_int_equal(simcp_ctx_alloc(rig.dev, 7, &rig.x), 0);
	assert_int_equal(simcp_set_iommu(rig.dev, &rig.io), 0);
	assert_int_equal(simcp_load(rig.x), 0);
	assert_int_equal(simcp_start(rig.x), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	simcp_ctx_free(rig.x);
	simcp_destroy(rig.dev);
	free(rig.mem);
	return 0;
}

/* A driver on a ring of @size bytes at the start of guest memory. */
static void drv_up(uint32_t size, uint64_t fence_start)
{
	struct simcp_drv_ring ring = { .va = rig.mem, .pa = GPA, .size = size };

	assert_int_equal(simcp_drv_init(&rig.drv, &bus, &ring, fence_start), 0);
}

static struct simcp_cmd compute(vc_time_t ns, uint8_t flags)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .flags = flags, .a = ns };
}

static void run_for(vc_time_t t)
{
	vc_vtime_advance(t);
}

/* ---- init -------------------------------------------------------------------- */

static uint32_t ones_read(void *opaque, uint32_t off)
{
	(void)opaque;
	(void)off;
	return ~0u;
}

static void ones_write(void *opaque, uint32_t off, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)val;
}

static void test_init_checks(void **state)
{
	static const uint32_t bad_sizes[] = { 0, 32, 48, 100, 3000, 2u << 20 };
	struct simcp_drv_bus nobody = { ones_read, ones_write, NULL };
	struct simcp_drv_ring ring = { .va = rig.mem, .pa = GPA, .size = 4096 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		ring.size = bad_sizes[i];
		assert_int_equal(simcp_drv_init(&rig.drv, &bus, &ring, 0), -SIMCP_DRV_EINVAL);
	}
	ring.size = 4096;
	ring.pa = GPA + 16; /* not 32-byte aligned */
	assert_int_equal(simcp_drv_init(&rig.drv, &bus, &ring, 0), -SIMCP_DRV_EINVAL);
	ring.pa = GPA;
	/* Nothing answers at this window: reads float to all ones. */
	assert_int_equal(simcp_drv_init(&rig.drv, &nobody, &ring, 0), -SIMCP_DRV_ENODEV);
	assert_string_equal(simcp_drv_strerror(-SIMCP_DRV_ENODEV), "no simcp device");

	drv_up(4096, 0);
	assert_true(simcp_drv_caps(&rig.drv) & SIMCP_CAP_NOPREEMPT);
	assert_int_equal(simcp_drv_ring_slots(&rig.drv), 127);
	assert_int_equal(dev_read(&rig, SIMCP_REG_RING_BASE_LO), (uint32_t)GPA);
	assert_int_equal(dev_read(&rig, SIMCP_REG_RING_SIZE), 4096);
	assert_int_equal(dev_read(&rig, SIMCP_REG_IRQ_MASK), SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	assert_int_equal(dev_read(&rig, SIMCP_REG_CONTROL), SIMCP_CTRL_ENABLE);
	assert_int_equal(simcp_drv_space(&rig.drv), 127);
}

/* fence_start seeds the FENCE register: the device never shows 0 again. */
static void test_fence_seed(void **state)
{
	uint64_t f;

	(void)state;
	drv_up(4096, 1000);
	run_for(VC_USEC(50)); /* the reset scrubs the context first: ~8 us */
	assert_int_equal(dev_read(&rig, SIMCP_REG_FENCE_LO), 1000);
	assert_int_equal(simcp_drv_fence_done(&rig.drv), 1000);
	assert_int_equal(simcp_drv_fence(&rig.drv, false, &f), 0);
	assert_int_equal(f, 1001);
	simcp_drv_kick(&rig.drv);
	run_for(VC_USEC(10));
	assert_int_equal(simcp_drv_fence_done(&rig.drv), 1001);
}

/* ---- ring ---------------------------------------------------------------------- */

/* A 256-byte ring (7 commands) goes round many times. */
static void test_ring_wrap(void **state)
{
	uint64_t f = 0, last = 0;
	uint32_t tails_seen = 0;

	(void)state;
	drv_up(256, 0);
	run_for(VC_USEC(50));
	for (int round = 0; round < 40; round++) {
		/* 1..5 commands per batch, so the tail lands everywhere. */
		int n = 1 + round % 5;

		for (int i = 0; i < n - 1; i++)
			assert_int_equal(simcp_drv_submit(&rig.drv, &(struct simcp_cmd){
						.op = SIMCP_OP_NOP }), 0);
		assert_int_equal(simcp_drv_fence(&rig.drv, false, &f), 0);
		simcp_drv_kick(&rig.drv);
		tails_seen |= 1u << (dev_read(&rig, SIMCP_REG_RING_TAIL) / SIMCP_CMD_SIZE);
		run_for(VC_USEC(5));
		assert_int_equal(simcp_drv_fence_done(&rig.drv), f);
		assert_true(f == last + 1);
		last = f;
		assert_int_equal(simcp_drv_space(&rig.drv), 7);
	}
	assert_int_equal(tails_seen, 0xff); /* every slot was the tail at least once */
	assert_int_equal(dev_read(&rig, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONE);
}

static void test_ring_full(void **state)
{
	struct simcp_cmd c = compute(VC_MSEC(1), 0);

	(void)state;
	drv_up(256, 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(simcp_drv_submit(&rig.drv, &c), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &c), -SIMCP_DRV_EAGAIN);
	assert_int_equal(simcp_drv_fence(&rig.drv, false, NULL), -SIMCP_DRV_EAGAIN);
	assert_int_equal(simcp_drv_fence_emitted(&rig.drv), 0); /* not consumed */
	assert_int_equal(simcp_drv_space(&rig.drv), 0);
	simcp_drv_kick(&rig.drv);
	/* Two commands retire (the first at ~1 ms), a third is in flight. */
	run_for(VC_USEC(2500));
	assert_int_equal(simcp_drv_space(&rig.drv), 2);
	assert_int_equal(simcp_drv_submit(&rig.drv, &c), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &c), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &c), -SIMCP_DRV_EAGAIN);
	simcp_drv_kick(&rig.drv);
	run_for(VC_MSEC(20));
	assert_int_equal(simcp_drv_space(&rig.drv), 7);
	assert_int_equal(dev_read(&rig, SIMCP_REG_CMDS_DONE), 9);
}

/* ---- fences and interrupts ---------------------------------------------------- */

/*
 * Jobs of varying length, each closed by a fence with an interrupt; the
 * handler runs at each interrupt.  Fences complete in order, one
 * interrupt per fence, the last one equals the last emitted.
 */
static void test_fence_order_irq(void **state)
{
	struct simcp_drv_irq_info info;
	uint64_t last = 0, emitted = 0;
	unsigned int handled = 0, seen;

	(void)state;
	drv_up(4096, 0);
	for (int j = 0; j < 20; j++) {
		assert_int_equal(simcp_drv_submit(&rig.drv, &(struct simcp_cmd){
					.op = SIMCP_OP_COMPUTE, .a = VC_USEC(10 + 7 * j) }), 0);
		assert_int_equal(simcp_drv_fence(&rig.drv, true, &emitted), 0);
	}
	simcp_drv_kick(&rig.drv);
	seen = rig.irq_events;
	while (vc_vtime_step(VC_SEC(1))) {
		if (rig.irq_events == seen)
			continue;
		seen = rig.irq_events;
		assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_FENCE);
		assert_true(info.fence > last);
		assert_int_equal(info.fence, info.fence_raw);
		last = info.fence;
		handled++;
	}
	assert_int_equal(handled, 20);
	assert_int_equal(last, emitted);
	assert_int_equal(simcp_drv_fence_done(&rig.drv), 20);
	/* Nothing pending any more: the next call says "not mine". */
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), 0);
	assert_true(rig.idle_events >= 1);
}

/* ---- faults ------------------------------------------------------------------------ */

/* A DMA fault halts the ring; RESUME skips the bad command and goes on. */
static void test_fault_resume(void **state)
{
	const uint64_t bad = GPA + MEM_SIZE + 4096;
	struct simcp_cmd copy = {
		.op = SIMCP_OP_COPY, .len = 64, .a = bad, .b = GPA + DATA_OFF,
	};
	struct simcp_drv_irq_info info;
	uint64_t f1, f2;

	(void)state;
	drv_up(4096, 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, false, &f1), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &copy), 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, true, &f2), 0);
	simcp_drv_kick(&rig.drv);
	run_for(VC_USEC(50));

	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_ERROR);
	assert_int_equal(info.fault.code, SIMCP_FAULT_DMA);
	assert_int_equal(info.fault.addr, bad);
	assert_int_equal(info.fault.head, 1 * SIMCP_CMD_SIZE);
	assert_int_equal(info.fence, f1);
	assert_true(simcp_drv_halted(&rig.drv));
	assert_int_equal(simcp_drv_submit(&rig.drv, &copy), -SIMCP_DRV_EIO);

	/* The fence behind the bad copy is still in the ring: nothing lost. */
	assert_int_equal(simcp_drv_recover(&rig.drv, SIMCP_DRV_RESUME), 0);
	assert_false(simcp_drv_halted(&rig.drv));
	run_for(VC_USEC(50));
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_FENCE);
	assert_int_equal(info.fence, f2);
	assert_int_equal(dev_read(&rig, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONE);
}

/* A bad command, recovered by a full RESET: what was queued is lost. */
static void test_fault_reset(void **state)
{
	struct simcp_cmd bad = compute(VC_USEC(1), 0);
	struct simcp_drv_irq_info info;
	uint64_t f;

	(void)state;
	bad.len = SIMCP_SCRATCH_SIZE + 1; /* more scratch than there is */
	drv_up(4096, 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &bad), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(simcp_drv_fence(&rig.drv, true, NULL), 0);
	simcp_drv_kick(&rig.drv);
	run_for(VC_USEC(50));
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_ERROR);
	assert_int_equal(info.fault.code, SIMCP_FAULT_BAD_CMD);
	assert_int_equal(info.fault.head, 0);

	assert_int_equal(simcp_drv_recover(&rig.drv, SIMCP_DRV_RESET), 3);
	assert_int_equal(simcp_drv_fence_done(&rig.drv), 3);
	assert_int_equal(simcp_drv_space(&rig.drv), 126); /* the seed fence */
	/* Values go on from where they were. */
	assert_int_equal(simcp_drv_fence(&rig.drv, true, &f), 0);
	assert_int_equal(f, 4);
	simcp_drv_kick(&rig.drv);
	run_for(VC_USEC(50));
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_FENCE);
	assert_int_equal(info.fence_raw, 4);
}

/*
 * A WAIT nobody satisfies; the host resets the context as a hang.  The
 * driver sees SIMCP_FAULT_HANG, RESUME finds the ring emptied and reports
 * the fences behind the WAIT as lost; new work runs.
 */
static void test_hang_reset(void **state)
{
	struct simcp_cmd wait = { .op = SIMCP_OP_WAIT, .a = GPA + DATA_OFF, .c = 1 };
	struct simcp_drv_irq_info info;
	vc_time_t retry;
	uint64_t f;

	(void)state;
	drv_up(4096, 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, true, NULL), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &wait), 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, true, NULL), 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, true, NULL), 0);
	simcp_drv_kick(&rig.drv);
	run_for(VC_MSEC(5));
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_FENCE);
	assert_int_equal(info.fence, 1);
	assert_int_equal(dev_read(&rig, SIMCP_REG_CMDS_DONE), 1); /* stuck at the WAIT */

	/* What the framework does on a hang: stop, then reset. */
	if (simcp_stop(rig.x, &retry) == -VC_EINPROGRESS)
		run_for(VC_USEC(10));
	assert_int_equal(simcp_reset(rig.x), 0);
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_ERROR);
	assert_int_equal(info.fault.code, SIMCP_FAULT_HANG);
	assert_int_equal(info.fault.head, 1 * SIMCP_CMD_SIZE);
	assert_int_equal(simcp_drv_recover(&rig.drv, SIMCP_DRV_RESUME), 2);

	assert_int_equal(simcp_start(rig.x), 0);
	assert_int_equal(simcp_drv_fence(&rig.drv, true, &f), 0);
	assert_int_equal(f, 4);
	simcp_drv_kick(&rig.drv);
	run_for(VC_USEC(50));
	assert_int_equal(simcp_drv_irq(&rig.drv, &info), SIMCP_IRQ_FENCE);
	assert_int_equal(info.fence, 4);
}

/* A device that reports an impossible RING_HEAD is not believed. */
static uint32_t liar_read(void *opaque, uint32_t off)
{
	return off == SIMCP_REG_RING_HEAD ? 0x1234 : dev_read(opaque, off);
}

static void test_bad_head(void **state)
{
	struct simcp_drv_bus liar = { liar_read, dev_write, &rig };
	struct simcp_drv_ring ring = { .va = rig.mem, .pa = GPA, .size = 256 };
	struct simcp_cmd nop = { .op = SIMCP_OP_NOP };

	(void)state;
	assert_int_equal(simcp_drv_init(&rig.drv, &liar, &ring, 0), 0);
	assert_int_equal(simcp_drv_space(&rig.drv), -SIMCP_DRV_EIO);
	for (int i = 0; i < 7; i++)
		assert_int_equal(simcp_drv_submit(&rig.drv, &nop), 0);
	assert_int_equal(simcp_drv_submit(&rig.drv, &nop), -SIMCP_DRV_EIO);
	nop.op = SIMCP_OP_MAX;
	assert_int_equal(simcp_drv_submit(&rig.drv, &nop), -SIMCP_DRV_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence_order_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_head, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-driver", tests, NULL, NULL);
}
