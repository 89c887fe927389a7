// SPDX-License-Identifier: MIT
/*
 * simcp contexts through the platform hooks, on virtual time: the switch
 * protocol (stop, save, iommu_switch, load, start), what survives a
 * switch and what never leaks across one, the stop semantics, register
 * emulation on a saved context and the hang reset.
 *
 * The hooks are called the way the framework calls them, on a coproc
 * registered with the real framework (for vc_coproc_pdata()) that has no
 * vcoprocs of its own, so nobody but the test drives the device.  Events
 * go to the test's log through simcp_config.event.
 */
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "simcp_priv.h" /* white box: the device's live copy */
#include "simcp_test.h"

#define TAG_A 0xa001u
#define TAG_B 0xb002u
#define BASE 0x80000000ull       /* both guests use the same gpa range */
#define GUEST_SIZE (1u << 20)
#define DATA(off) (BASE + GUEST_DATA_OFF + (off))

static const struct vc_platform_ops *ops = &simcp_platform_ops;

static struct {
	struct vc_fw *fw;
	struct vc_coproc *c;
	struct simcp *s;
	struct ev_log log;
	struct guest a, b;
	vc_time_t ctx_ns, ovh;
	vc_time_t empty_ns; /* save or load of a context that wrote nothing */
	uint64_t ctx_bw;
} F;

static void host_irq(void *host_dom, uint32_t irq)
{
	fail_msg("no vcoproc exists, no interrupt can reach a domain");
}

static const struct vc_host_ops hops = { .irq_raise = host_irq };

static vc_time_t fixture_hold; /* simcp_config.stop_hold_ns of the next setup */

/* @bytes at @bw bytes per second, in whole ns rounded up: the device's arithmetic. */
static vc_time_t xfer(uint64_t bytes, uint64_t bw)
{
	return (bytes * 1000000000ull + bw - 1) / bw;
}

static int setup(void **state)
{
	struct simcp_config cfg = {
		.mode = SIMCP_MODE_VTIME,
		.event = ev_sink,
		.event_opaque = &F.log,
		.max_nonpreempt = VC_USEC(500),
		.stop_hold_ns = fixture_hold,
	};
	struct vc_coproc_desc desc;
	struct simcp_timing t;
	void *ctx;

	vc_vtime_reset();
	memset(&F, 0, sizeof(F));
	assert_int_equal(simcp_create(&cfg, &F.s), 0);
	simcp_timing(F.s, &t);
	F.ovh = t.cmd_overhead_ns;
	F.ctx_ns = simcp_switch_cost(F.s) / 2;
	/* Registers (72 bytes), completed count (8), dirty bitmap (16 pages: 2). */
	F.empty_ns = xfer(72 + 8 + 2, t.ctx_bw);
	F.ctx_bw = t.ctx_bw;
	assert_int_equal(vc_fw_create(&hops, &F.fw), 0);
	simcp_coproc_desc(F.s, "simcp0", 0x40000000, 5, &desc);
	desc.sched = NULL; /* any built-in algorithm: the tests drive the hooks */
	assert_int_equal(vc_coproc_register(F.fw, &desc, &F.c), 0);

	guest_init(&F.a, BASE, GUEST_SIZE);
	guest_init(&F.b, BASE, GUEST_SIZE);
	assert_int_equal(ops->ctx_alloc(F.c, TAG_A, &ctx), 0);
	F.a.x = ctx;
	assert_int_equal(ops->ctx_alloc(F.c, TAG_B, &ctx), 0);
	F.b.x = ctx;
	/* Both rings set up while saved: emulated writes latch. */
	guest_ring_init(&F.a, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	guest_ring_init(&F.b, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	return 0;
}

static int setup_hold(void **state)
{
	fixture_hold = VC_USEC(2);
	return setup(state);
}

static int teardown(void **state)
{
	fixture_hold = 0;
	ops->ctx_free(F.c, F.a.x);
	ops->ctx_free(F.c, F.b.x);
	assert_int_equal(vc_coproc_unregister(F.c), 0);
	vc_fw_destroy(F.fw);
	simcp_destroy(F.s);
	guest_fini(&F.a);
	guest_fini(&F.b);
	return 0;
}

static void run(void)
{
	vc_vtime_advance(VC_MSEC(10));
}

/* The second half of a switch: IOMMU, load, start. */
static void switch_in(struct guest *g)
{
	assert_int_equal(ops->iommu_switch(F.c, &g->io), 0);
	assert_int_equal(ops->load(F.c, g->x), 0);
	assert_int_equal(ops->start(F.c, g->x), 0);
}

/* The first half, for a device at a boundary: stop (now), save. */
static void switch_out(struct guest *g)
{
	vc_time_t ra = 0;

	assert_int_equal(ops->stop(F.c, g->x, &ra), 0);
	assert_int_equal(ops->save(F.c, g->x), 0);
}

static uint32_t reg(struct guest *g, uint64_t off, bool forward)
{
	uint64_t v = 0;
	int r = forward ? ops->mmio_forward(F.c, g->x, off, 4, false, &v)
			: ops->mmio_emulate(F.c, g->x, off, 4, false, &v);

	assert_int_equal(r, VC_IO_OK);
	return (uint32_t)v;
}

static int emul_write(struct guest *g, uint64_t off, uint32_t val)
{
	uint64_t v = val;

	return ops->mmio_emulate(F.c, g->x, off, 4, true, &v);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_ops_and_desc(void **state)
{
	const struct vc_coproc_desc *d = vc_coproc_desc(F.c);

	assert_string_equal(ops->name, "simcp");
	assert_non_null(ops->ctx_alloc);
	assert_non_null(ops->ctx_free);
	assert_non_null(ops->stop);
	assert_non_null(ops->save);
	assert_non_null(ops->iommu_switch);
	assert_non_null(ops->load);
	assert_non_null(ops->start);
	assert_non_null(ops->reset);
	assert_non_null(ops->mmio_forward);
	assert_non_null(ops->mmio_emulate);
	assert_non_null(ops->has_work);
	assert_non_null(ops->progress);
	assert_ptr_equal(vc_coproc_pdata(F.c), F.s);
	assert_string_equal(vc_coproc_compatible(F.c), "vcoproc,simcp");
	assert_int_equal(d->nr_mmio, 1);
	assert_int_equal(d->mmio[0].size, SIMCP_MMIO_SIZE);
	assert_int_equal(d->nr_irqs, 1);
	assert_int_equal(d->irqs[0], 5);
	/* Save + load of registers, key slots, 64 KiB scratch at 8 GB/s: ~8.3 us each. */
	assert_int_equal(d->switch_cost, simcp_switch_cost(F.s));
	assert_true(F.ctx_ns >= 8192 && F.ctx_ns < 8400);
	assert_int_equal(d->max_nonpreempt, VC_USEC(500));
}

/*
 * Two contexts on two domains that use the same guest-physical addresses:
 * each one's scratch, registers and DMA stay its own across switches.
 */
static void test_switch_roundtrip(void **state)
{
	struct guest *a = &F.a, *b = &F.b;

	memset(gp(a, DATA(0)), 'A', 4096);
	memset(gp(b, DATA(0)), 'B', 4096);

	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 100, 4096));
	guest_submit(a, cmd_fence(0xaaaa, 0, SIMCP_F_IRQ));
	run();
	switch_out(a);

	switch_in(b);
	wr(b->x, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_ERROR);
	guest_submit(b, cmd_load(DATA(0), 100, 4096));
	guest_submit(b, cmd_store(100, DATA(0x8000), 4096));
	guest_submit(b, cmd_fence(0xbbbb, 0, 0));
	run();
	switch_out(b);

	switch_in(a);
	guest_submit(a, cmd_store(100, DATA(0x8000), 4096));
	guest_submit(a, cmd_fence(0xaaab, 0, 0));
	run();

	/* Same gpa, each into its own memory with its own scratch. */
	for (int i = 0; i < 4096; i++) {
		assert_int_equal(((uint8_t *)gp(a, DATA(0x8000)))[i], 'A');
		assert_int_equal(((uint8_t *)gp(b, DATA(0x8000)))[i], 'B');
	}
	/* Registers, live for a and emulated for b. */
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 0xaaab);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 4);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_MASK, true), SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, true), SIMCP_IRQ_FENCE);
	assert_int_equal(reg(a, SIMCP_REG_RING_BASE_LO, true), (uint32_t)BASE);
	assert_int_equal(reg(b, SIMCP_REG_FENCE_LO, false), 0xbbbb);
	assert_int_equal(reg(b, SIMCP_REG_CMDS_DONE, false), 3);
	assert_int_equal(reg(b, SIMCP_REG_IRQ_MASK, false), SIMCP_IRQ_ERROR);
	assert_int_equal(reg(b, SIMCP_REG_IRQ_STATUS, false), 0);
	assert_int_equal(ops->progress(F.c, a->x), 4);
	assert_int_equal(ops->progress(F.c, b->x), 3);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
	assert_int_equal(ev_count(&F.log, TAG_B, VC_EV_IRQ), 0);
}

/*
 * A switch costs modeled time: the save and the load before the first
 * command, each what it moves.
 */
static void test_switch_cost_in_time(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	vc_time_t t;
	int i;

	switch_in(a);
	run();
	t = vc_os_now();
	switch_out(a);
	guest_push(b, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(b);
	switch_in(b);
	run();
	i = ev_find(&F.log, 0, TAG_B, VC_EV_IRQ);
	assert_true(i >= 0);
	/* Neither context wrote scratch or keys: each step moves 82 bytes. */
	assert_int_equal(F.log.e[i].at, t + 2 * F.empty_ns + F.ovh);
}

/* Fresh contexts are zero, freed ones leave nothing, RESET scrubs. */
static void test_scrubbing(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	void *ctx;

	/* a fills all of scratch with a secret and goes away. */
	memset(gp(a, DATA(0)), 0x5a, SIMCP_SCRATCH_SIZE);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 0, SIMCP_SCRATCH_SIZE));
	guest_submit(a, cmd_fence(1, 0, 0));
	run();
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), 0);
	switch_out(a);
	/* The device still holds a copy of the saved context until it goes. */
	assert_false(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	ops->ctx_free(F.c, a->x);
	assert_true(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	assert_int_equal(ops->ctx_alloc(F.c, TAG_A + 1, &ctx), 0);
	a->x = ctx;
	assert_int_equal(reg(a, SIMCP_REG_RING_SIZE, false), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, false), 0);
	assert_false(ops->has_work(F.c, a->x));

	/* The new context sees zeros in every byte of scratch. */
	memset(gp(a, DATA(0)), 0xee, SIMCP_SCRATCH_SIZE);
	guest_ring_init(a, 0);
	switch_in(a);
	guest_submit(a, cmd_store(0, DATA(0), SIMCP_SCRATCH_SIZE));
	run();
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);
	assert_true(all_zero(gp(a, DATA(0)), SIMCP_SCRATCH_SIZE));

	/* CONTROL.RESET on the live context scrubs scratch and registers. */
	memset(gp(a, DATA(0)), 0x77, 4096);
	guest_submit(a, cmd_load(DATA(0), 0, 4096));
	run();
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	assert_int_equal(reg(a, SIMCP_REG_RING_SIZE, true), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 0);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_MASK, true), 0);
	/* The progress the framework counts jobs by does not go back. */
	assert_int_equal(simcp_progress(a->x), 2);
	guest_ring_init(a, 0);
	guest_submit(a, cmd_store(0, DATA(0x8000), 4096));
	run();
	assert_true(all_zero(gp(a, DATA(0x8000)), 4096));
	switch_out(a);

	/* CONTROL.RESET on a saved context (emulated) scrubs it too. */
	switch_in(b);
	memset(gp(b, DATA(0)), 0x33, 4096);
	guest_submit(b, cmd_load(DATA(0), 0, 4096));
	run();
	switch_out(b);
	assert_int_equal(emul_write(b, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET), VC_IO_OK);
	assert_int_equal(reg(b, SIMCP_REG_RING_SIZE, false), 0);
	guest_ring_init(b, 0);
	guest_submit(b, cmd_store(0, DATA(0x8000), 4096));
	switch_in(b);
	run();
	assert_int_equal(reg(b, SIMCP_REG_CMDS_DONE, true), 1);
	assert_true(all_zero(gp(b, DATA(0x8000)), 4096));
}

static void test_stop_idle(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0;

	/* Not running at all, loaded and not started, started and idle. */
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->iommu_switch(F.c, &a->io), 0);
	assert_int_equal(ops->load(F.c, a->x), 0);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->start(F.c, a->x), 0);
	run();
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ra, 0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_STOPPED), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);
}

/* A preemptible command: the stop completes when it retires. */
static void test_stop_preemptible(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0, start, end;
	uint32_t off;
	int i;

	switch_in(a);
	start = vc_os_now() + F.empty_ns;
	end = start + F.ovh + VC_USEC(100);
	guest_push(a, cmd_compute(VC_USEC(100), 64, 0));
	off = guest_push(a, cmd_fence(7, 0, SIMCP_F_IRQ));
	guest_doorbell(a);
	vc_vtime_run_until(start + VC_USEC(30));

	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EINPROGRESS);
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EINPROGRESS); /* idempotent */
	assert_int_equal(ops->save(F.c, a->x), -VC_EBUSY);
	assert_int_equal(ops->iommu_switch(F.c, &F.b.io), -VC_EBUSY);
	assert_int_equal(reg(a, SIMCP_REG_RING_HEAD, true), 0);
	run();

	i = ev_find(&F.log, 0, TAG_A, VC_EV_STOPPED);
	assert_true(i >= 0);
	assert_int_equal(F.log.e[i].at, end);
	/* The compute retired, the fence never started. */
	assert_int_equal(reg(a, SIMCP_REG_RING_HEAD, true), off);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 0);
	assert_true(ops->has_work(F.c, a->x));
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);

	/* Back on the device it picks up where it stopped. */
	switch_in(a);
	run();
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 7);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
}

/*
 * A non-preemptible command refuses with its remaining time; the retry
 * finds the device holding at the boundary.
 */
static void test_stop_nopreempt(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0, start, end;

	switch_in(a);
	start = vc_os_now() + F.empty_ns;
	end = start + F.ovh + VC_USEC(100);
	guest_submit(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT));
	guest_submit(a, cmd_compute(VC_USEC(40), 0, 0));
	vc_vtime_run_until(start + VC_USEC(30));

	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, end - vc_os_now());
	vc_vtime_run_until(vc_os_now() + VC_USEC(50));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, end - vc_os_now());

	/* Retried when told: at the boundary, held there for the retry. */
	vc_vtime_run_until(vc_os_now() + ra);
	assert_int_equal(vc_os_now(), end);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_STOPPED), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);
	assert_true(ops->has_work(F.c, a->x));
}

/*
 * Commands linked by SIMCP_F_CHAIN are one section: the stop is refused
 * from its first command to its last, the hint covering the rest of it.
 */
static void test_stop_nopreempt_run(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0, start, end;

	switch_in(a);
	start = vc_os_now() + F.empty_ns;
	end = start + F.ovh + VC_USEC(100);
	guest_push(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN));
	guest_push(a, cmd_compute(VC_USEC(30), 0, SIMCP_F_NOPREEMPT));
	guest_doorbell(a);
	vc_vtime_run_until(start + VC_USEC(60));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, end - vc_os_now() + F.ovh + VC_USEC(30));
	vc_vtime_run_until(end);
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, F.ovh + VC_USEC(30));
	vc_vtime_run_until(vc_os_now() + ra);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 2);
}

/*
 * By default a refused stop is honoured at the next boundary: a guest
 * cannot hold the device by chaining non-preemptible commands.
 */
static void test_stop_nopreempt_default_hold(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0, start, end;

	switch_in(a);
	start = vc_os_now() + F.empty_ns;
	end = start + F.ovh + VC_USEC(100);
	for (int k = 0; k < 8; k++)
		guest_push(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT));
	guest_doorbell(a);
	vc_vtime_run_until(start + VC_USEC(60));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, end - vc_os_now());
	vc_vtime_run_until(vc_os_now() + ra);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);
	assert_int_equal(ops->save(F.c, a->x), 0);
}

/*
 * With stop_hold_ns, after a refusal the device holds at the next boundary
 * for the retry, and goes on if none comes: every section is one command.
 */
static void test_stop_nopreempt_chain(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0, start, end;
	int i;

	switch_in(a);
	start = vc_os_now() + F.empty_ns;
	end = start + F.ovh + VC_USEC(100);
	for (int k = 0; k < 3; k++)
		guest_push(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT));
	guest_push(a, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(a);

	/* Retried when told: stopped at the boundary, not refused again. */
	vc_vtime_run_until(start + VC_USEC(60));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, end - vc_os_now());
	vc_vtime_run_until(vc_os_now() + ra);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);

	/* Refused and never retried: it goes on after the hold. */
	assert_int_equal(ops->start(F.c, a->x), 0);
	start = vc_os_now();
	end = start + F.ovh + VC_USEC(100);
	vc_vtime_run_until(start + VC_USEC(10));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	run();
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_true(i >= 0);
	assert_int_equal(F.log.e[i].at, end + VC_USEC(2) + (F.ovh + VC_USEC(100)) + F.ovh);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 4);
}

/* A polling WAIT stops at once (preemptible) or refuses (NOPREEMPT). */
static void test_stop_wait(void **state)
{
	struct guest *a = &F.a;
	uint64_t *sem = gp(a, DATA(0x40));
	vc_time_t ra = 0;

	switch_in(a);
	guest_submit(a, cmd_wait(DATA(0x40), 1, 0));
	vc_vtime_advance(VC_USEC(100));
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);
	assert_true(ops->has_work(F.c, a->x));
	*sem = 1;
	switch_in(a);
	run();
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);

	guest_submit(a, cmd_wait(DATA(0x40), 2, SIMCP_F_NOPREEMPT));
	vc_vtime_advance(VC_USEC(100) + 300);
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_true(ra > 0 && ra <= VC_USEC(1));
	*sem = 2;
	vc_vtime_advance(ra);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 2);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
}

/*
 * A flagged WAIT still polling when its section reaches the device's bound
 * is cut there (SIMCP_FAULT_NONPREEMPT, skipped): refused stops until then,
 * then the device is at a boundary and the rest of the ring waits for RESUME.
 */
static void test_np_wait_cut(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra = 0;
	uint32_t off;

	switch_in(a);
	guest_submit(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN));
	off = guest_submit(a, cmd_wait(DATA(0x40), 1, SIMCP_F_NOPREEMPT));
	guest_submit(a, cmd_fence(5, 0, 0));
	vc_vtime_advance(VC_USEC(300));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), 0);
	/* 100 us of COMPUTE and 400 us of polling: the bound. */
	vc_vtime_advance(VC_USEC(300));
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), SIMCP_FAULT_NONPREEMPT);
	assert_int_equal(reg(a, SIMCP_REG_FAULT_HEAD, true), off);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 1);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);
	/* RESUME gives the context work again: the FENCE after the WAIT. */
	assert_int_equal(emul_write(a, SIMCP_REG_CONTROL,
				    SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME), VC_IO_WORK);
	switch_in(a);
	run();
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 5);
}

/* A completion racing a stop: registers and IRQ first, old tag, then STOPPED. */
static void test_completion_races_stop(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	vc_time_t ra = 0;
	int irq, stopped;

	switch_in(a);
	guest_submit(a, cmd_fence(0x77, DATA(0), SIMCP_F_IRQ));
	guest_submit(a, cmd_fence(0x78, 0, SIMCP_F_IRQ));
	vc_vtime_run_until(vc_os_now() + F.empty_ns + F.ovh / 2);
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EINPROGRESS);
	run();
	irq = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	stopped = ev_find(&F.log, 0, TAG_A, VC_EV_STOPPED);
	assert_true(irq >= 0 && stopped > irq);
	assert_int_equal(F.log.e[irq].at, F.log.e[stopped].at);
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 0x77);
	assert_int_equal(*(uint64_t *)gp(a, DATA(0)), 0x77);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, true), SIMCP_IRQ_FENCE);

	assert_int_equal(ops->save(F.c, a->x), 0);
	switch_in(b);
	guest_submit(b, cmd_nop());
	run();
	/* Nothing of a's ever carries b's tag, and a's second fence waits. */
	assert_int_equal(ev_count(&F.log, TAG_B, VC_EV_IRQ), 0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, false), 0x77);
}

/*
 * The saved context's registers read as the device showed them; writes
 * latch (TAIL is a doorbell) and take effect when it is loaded.
 */
static void test_emulate_matches_forward(void **state)
{
	static const uint64_t regs[] = {
		SIMCP_REG_ID, SIMCP_REG_VERSION, SIMCP_REG_CAPS,
		SIMCP_REG_SCRATCH_SIZE, SIMCP_REG_CONTROL, SIMCP_REG_STATUS,
		SIMCP_REG_IRQ_STATUS, SIMCP_REG_IRQ_MASK, SIMCP_REG_IRQ_ACK,
		SIMCP_REG_RING_BASE_LO, SIMCP_REG_RING_BASE_HI,
		SIMCP_REG_RING_SIZE, SIMCP_REG_RING_HEAD, SIMCP_REG_RING_TAIL,
		SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI, SIMCP_REG_FAULT_CODE,
		SIMCP_REG_FAULT_ADDR_LO, SIMCP_REG_FAULT_ADDR_HI,
		SIMCP_REG_FAULT_HEAD, SIMCP_REG_CMDS_DONE,
	};
	uint32_t live[sizeof(regs) / sizeof(regs[0])];
	struct guest *a = &F.a, *b = &F.b;
	uint64_t v;

	/* a ends with a fault so every register has something to show. */
	switch_in(a);
	guest_submit(a, cmd_fence(0x123456789aull, 0, SIMCP_F_IRQ));
	guest_submit(a, cmd_copy(DATA(0), 0x10, 16));
	run();
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		live[i] = reg(a, regs[i], true);
	assert_int_equal(live[13], a->tail);
	assert_int_equal(live[16], SIMCP_FAULT_DMA);
	switch_out(a);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		assert_int_equal(reg(a, regs[i], false), live[i]);
	v = 0;
	assert_int_equal(ops->mmio_emulate(F.c, a->x, SIMCP_REG_FENCE_LO, 8, false, &v),
			 VC_IO_OK);
	assert_int_equal(v, 0x123456789aull);
	v = 0;
	assert_int_equal(ops->mmio_emulate(F.c, a->x, 0x44, 4, false, &v), VC_IO_BAD);
	assert_int_equal(v, ~0ull);

	/* b runs; a resumes and submits while saved. */
	switch_in(b);
	assert_int_equal(emul_write(a, SIMCP_REG_CONTROL,
				    SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME), VC_IO_OK);
	guest_push(a, cmd_fill(DATA(0x100), 64, 0x01010101));
	guest_push(a, cmd_fence(2, 0, 0));
	v = a->tail;
	assert_int_equal(ops->mmio_emulate(F.c, a->x, SIMCP_REG_RING_TAIL, 4, true, &v),
			 VC_IO_WORK);
	assert_true(ops->has_work(F.c, a->x));
	assert_int_equal(reg(a, SIMCP_REG_RING_TAIL, false), a->tail);
	assert_int_equal(reg(a, SIMCP_REG_STATUS, false), SIMCP_STATUS_BUSY);
	run();
	/* Latched only: nothing ran while b was on the device. */
	assert_true(all_zero(gp(a, DATA(0x100)), 64));
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, false), 1);
	switch_out(b);
	switch_in(a);
	run();
	assert_int_equal(((uint8_t *)gp(a, DATA(0x100)))[63], 1);
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 2);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, true), 3);
	assert_false(ops->has_work(F.c, a->x));
}

/* Emulated IRQ_ACK and IRQ_MASK on a saved context. */
static void test_emulate_irq(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	int i;

	switch_in(a);
	wr(a->x, SIMCP_REG_IRQ_MASK, 0);
	guest_submit(a, cmd_fence(1, 0, SIMCP_F_IRQ));
	run();
	switch_out(a);
	switch_in(b);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 0);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, false), SIMCP_IRQ_FENCE);

	/* Unmasking the pending bit is an edge, delivered with a's tag. */
	assert_int_equal(emul_write(a, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE), VC_IO_OK);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 0); /* never from the hook */
	run();
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_true(i >= 0);
	assert_int_equal(ev_count(&F.log, TAG_B, VC_EV_IRQ), 0);

	assert_int_equal(emul_write(a, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_FENCE), VC_IO_OK);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, false), 0);
	switch_out(b);
	switch_in(a);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, true), 0);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_MASK, true), SIMCP_IRQ_FENCE);
	run();
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
}

/* Freeing a context drops its queued events and only its own. */
static void test_free_drops_queued_events(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	void *ctx;

	/* Pending but masked in both; unmasking queues an edge for each. */
	switch_in(a);
	wr(a->x, SIMCP_REG_IRQ_MASK, 0);
	guest_submit(a, cmd_fence(1, 0, SIMCP_F_IRQ));
	run();
	switch_out(a);
	switch_in(b);
	wr(b->x, SIMCP_REG_IRQ_MASK, 0);
	guest_submit(b, cmd_fence(1, 0, SIMCP_F_IRQ));
	run();
	assert_int_equal(emul_write(a, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE), VC_IO_OK);
	wr(b->x, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE);
	ops->ctx_free(F.c, a->x);
	assert_int_equal(ops->ctx_alloc(F.c, TAG_A, &ctx), 0);
	a->x = ctx;
	run();
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 0);
	assert_int_equal(ev_count(&F.log, TAG_B, VC_EV_IRQ), 1);
}

/* A hang (a WAIT that is never satisfied) and its reset. */
static void test_hang_reset(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	vc_time_t ra;
	uint32_t off;
	uint64_t ticks;

	switch_in(a);
	guest_submit(a, cmd_fence(1, 0, 0));
	off = guest_submit(a, cmd_wait(DATA(0x40), 1, SIMCP_F_NOPREEMPT));
	guest_submit(a, cmd_fence(2, 0, 0));
	vc_vtime_advance(VC_USEC(300)); /* within the 500 us bound: still polling */
	assert_int_equal(ops->progress(F.c, a->x), 1);
	assert_true(ops->has_work(F.c, a->x));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EAGAIN);

	/* b's saved state is untouched by a's reset, and vice versa. */
	guest_submit(b, cmd_nop());
	assert_int_equal(ops->reset(F.c, a->x, true), 0);
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), SIMCP_FAULT_HANG);
	assert_int_equal(reg(a, SIMCP_REG_FAULT_HEAD, true), off);
	assert_int_equal(reg(a, SIMCP_REG_RING_HEAD, true), a->tail);
	assert_int_equal(reg(a, SIMCP_REG_STATUS, true), SIMCP_STATUS_IDLE | SIMCP_STATUS_HALTED);
	assert_int_equal(reg(a, SIMCP_REG_IRQ_STATUS, true), SIMCP_IRQ_ERROR);
	assert_false(ops->has_work(F.c, a->x));
	assert_true(ops->has_work(F.c, b->x));
	assert_int_equal(reg(b, SIMCP_REG_FAULT_CODE, false), 0);

	/* Left stopped and loaded: time passes and nothing runs. */
	ticks = vc_vtime_advance(VC_MSEC(1));
	assert_true(ticks <= 1);
	assert_int_equal(ops->progress(F.c, a->x), 1);
	/* The error is pending; the interrupt is the framework's to raise. */
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 0);
	assert_int_equal(ops->stop(F.c, a->x, &ra), 0);
	assert_int_equal(ops->save(F.c, a->x), 0);

	/* Resetting a saved context works on the saved state. */
	assert_int_equal(ops->reset(F.c, b->x, false), 0);
	assert_int_equal(reg(b, SIMCP_REG_FAULT_CODE, false), SIMCP_FAULT_HANG);
	assert_false(ops->has_work(F.c, b->x));

	/* The driver resumes and a works again. */
	assert_int_equal(emul_write(a, SIMCP_REG_CONTROL,
				    SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME), VC_IO_OK);
	switch_in(a);
	guest_submit(a, cmd_fence(3, 0, 0));
	run();
	assert_int_equal(reg(a, SIMCP_REG_FENCE_LO, true), 3);
	assert_int_equal(ops->progress(F.c, a->x), 2);
}

/* The guest resetting the device while a stop waits for a boundary. */
static void test_guest_reset_during_stop(void **state)
{
	struct guest *a = &F.a;
	vc_time_t ra;

	switch_in(a);
	guest_submit(a, cmd_compute(VC_USEC(100), 0, 0));
	vc_vtime_advance(F.empty_ns + VC_USEC(10));
	assert_int_equal(ops->stop(F.c, a->x, &ra), -VC_EINPROGRESS);
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	vc_vtime_advance(0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_STOPPED), 1);
	assert_int_equal(ops->save(F.c, a->x), 0);
	assert_int_equal(reg(a, SIMCP_REG_CMDS_DONE, false), 0);
	assert_int_equal(reg(a, SIMCP_REG_RING_SIZE, false), 0);
}

/* Calls out of protocol order are refused, not obeyed. */
static void test_protocol_errors(void **state)
{
	struct guest *a = &F.a, *b = &F.b;

	assert_int_equal(ops->save(F.c, a->x), -VC_EINVAL);  /* not loaded */
	assert_int_equal(ops->start(F.c, a->x), -VC_EINVAL);
	switch_in(a);
	assert_int_equal(ops->load(F.c, a->x), -VC_EBUSY);   /* started */
	assert_int_equal(ops->save(F.c, a->x), -VC_EBUSY);
	assert_int_equal(ops->iommu_switch(F.c, &b->io), -VC_EBUSY);
	assert_int_equal(ops->load(F.c, b->x), -VC_EBUSY);   /* a not saved */
	assert_int_equal(ops->start(F.c, b->x), -VC_EINVAL);
	switch_out(a);
	assert_int_equal(ops->save(F.c, a->x), -VC_EINVAL);  /* saved already */
	switch_in(b);
	switch_out(b);
}

/* ---- key slots across switches ------------------------------------------ */

#define KEY_AT  DATA(0x20000)
#define IV_AT   DATA(0x20100)
#define SRC_AT  DATA(0x21000)
#define DST_AT  DATA(0x31000)

static bool keys_empty(const struct simcp_state *st)
{
	return all_zero((const uint8_t *)st->keys, sizeof(st->keys));
}

static void load_key(struct guest *g, unsigned int slot, const uint8_t *key, uint32_t len)
{
	memcpy(gp(g, KEY_AT), key, len);
	guest_submit(g, cmd_key(slot, KEY_AT, len));
}

/*
 * Two domains load different keys into the same slot and encrypt,
 * interleaved by switches that come while AES commands are in flight
 * (stops accepted at the next boundary): every result is its own key's.
 */
static void test_aes_keys_survive_switch(void **state)
{
	struct guest *a = &F.a, *b = &F.b, *g;
	uint8_t ka[32], kb[16], iv[16], pt[4096], ref[4096];
	vc_time_t ra = 0;
	unsigned int round;

	for (unsigned int i = 0; i < sizeof(ka); i++)
		ka[i] = (uint8_t)(i * 7 + 1);
	for (unsigned int i = 0; i < sizeof(kb); i++)
		kb[i] = (uint8_t)(i * 13 + 5);
	memset(iv, 0x42, sizeof(iv));
	switch_in(a);
	load_key(a, 3, ka, 32);
	run();
	switch_out(a);
	switch_in(b);
	load_key(b, 3, kb, 16);
	run();
	switch_out(b);
	for (round = 0; round < 8; round++) {
		g = round & 1 ? b : a;
		for (unsigned int i = 0; i < sizeof(pt); i++)
			pt[i] = (uint8_t)(i ^ round);
		memcpy(gp(g, SRC_AT), pt, sizeof(pt));
		memcpy(gp(g, IV_AT), iv, 16);
		/* Four commands; the switch comes while the second runs. */
		for (unsigned int j = 0; j < 4; j++)
			guest_push(g, cmd_aes(3, SRC_AT, DST_AT + j * 4096, 4096, IV_AT));
		guest_doorbell(g);
		switch_in(g);
		/* Save and load (one key slot each), one command, into the next. */
		vc_vtime_advance(2 * xfer(72 + 8 + 2 + 36, F.ctx_bw) + F.ovh + 4096 + 1000);
		assert_int_equal(ops->stop(F.c, g->x, &ra), -VC_EINPROGRESS);
		run();
		assert_true(ev_count(&F.log, round & 1 ? TAG_B : TAG_A, VC_EV_STOPPED) > 0);
		assert_int_equal(ops->save(F.c, g->x), 0);
		/* Two ran; the rest waits for the next time it is loaded. */
		ref_cbc(round & 1 ? kb : ka, round & 1 ? 16 : 32, iv, false, pt, ref, sizeof(pt));
		assert_memory_equal(gp(g, DST_AT), ref, sizeof(ref));
		assert_memory_equal(gp(g, DST_AT + 4096), ref, sizeof(ref));
		assert_true(ops->has_work(F.c, g->x));
		switch_in(g);
		run();
		switch_out(g);
		assert_int_equal(reg(g, SIMCP_REG_FAULT_CODE, false), 0);
		for (unsigned int j = 2; j < 4; j++)
			assert_memory_equal(gp(g, DST_AT + j * 4096), ref, sizeof(ref));
	}
}

/* A slot loaded in A's context is empty in B's: B's command faults and writes nothing. */
static void test_aes_slot_isolation(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	uint8_t key[24] = { 9, 8, 7 };

	switch_in(a);
	load_key(a, 5, key, 24);
	guest_submit(a, cmd_aes(5, SRC_AT, DST_AT, 64, IV_AT));
	run();
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), 0);
	switch_out(a);

	memset(gp(b, DST_AT), 0xcd, 64);
	switch_in(b);
	/* B at A's very state of the device: A's slot 5 is still in no way B's. */
	guest_submit(b, cmd_aes(5, SRC_AT, DST_AT, 64, IV_AT));
	run();
	assert_int_equal(reg(b, SIMCP_REG_FAULT_CODE, true), SIMCP_FAULT_BAD_CMD);
	for (int i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)gp(b, DST_AT))[i], 0xcd);
	assert_true(keys_empty(&F.s->live));
	switch_out(b);
	assert_true(keys_empty(&b->x->st));
	assert_false(keys_empty(&a->x->st));
}

/* Keys go with CONTROL.RESET (live or saved) and when the context is freed; not with a hang reset. */
static void test_aes_keys_scrubbed(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	uint8_t key[32];
	void *ctx;

	memset(key, 0x5a, sizeof(key));
	/* Saved: an emulated RESET. */
	switch_in(b);
	load_key(b, 15, key, 32);
	run();
	switch_out(b);
	assert_int_equal(b->x->st.keys[15].len, 32);
	assert_int_equal(ops->reset(F.c, b->x, false), 0); /* a hang reset keeps keys */
	assert_int_equal(b->x->st.keys[15].len, 32);
	assert_int_equal(emul_write(b, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET), VC_IO_OK);
	assert_true(keys_empty(&b->x->st));

	/* Live: RESET on the device. */
	switch_in(a);
	load_key(a, 0, key, 16);
	run();
	assert_false(keys_empty(&F.s->live));
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	assert_true(keys_empty(&F.s->live));
	guest_ring_init(a, 0);
	guest_submit(a, cmd_aes(0, SRC_AT, DST_AT, 16, IV_AT));
	run();
	assert_int_equal(reg(a, SIMCP_REG_FAULT_CODE, true), SIMCP_FAULT_BAD_CMD);

	/* Freed after a save: the device's copy goes with it. */
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	load_key(a, 7, key, 24);
	run();
	switch_out(a);
	assert_false(keys_empty(&F.s->live));
	ops->ctx_free(F.c, a->x);
	assert_true(keys_empty(&F.s->live));
	/* A new context starts with every slot empty. */
	assert_int_equal(ops->ctx_alloc(F.c, TAG_A + 1, &ctx), 0);
	a->x = ctx;
	assert_true(keys_empty(&a->x->st));
}

/* What a context holds, and so what a switch moves and costs. */
static void test_aes_context_size(void **state)
{
	struct simcp_timing t;

	simcp_timing(F.s, &t);
	assert_int_equal(sizeof(struct simcp_keyslot), 36);
	assert_int_equal(sizeof(((struct simcp_state *)0)->keys), 16 * 36);
	/* The worst case: registers, count, bitmap, every slot, every page. */
	assert_int_equal(F.ctx_ns, xfer(72 + 8 + 2 + 576 + 65536, t.ctx_bw));
	assert_int_equal(simcp_switch_cost(F.s), 2 * 8275);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ops_and_desc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_cost_in_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrubbing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_preemptible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_nopreempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_nopreempt_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_nopreempt_default_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_nopreempt_chain, setup_hold, teardown),
		cmocka_unit_test_setup_teardown(test_stop_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_np_wait_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_completion_races_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emulate_matches_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emulate_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_drops_queued_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_reset_during_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aes_keys_survive_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aes_slot_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aes_keys_scrubbed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aes_context_size, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-switch", tests, NULL, NULL);
}
