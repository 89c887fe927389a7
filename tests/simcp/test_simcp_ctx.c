// SPDX-License-Identifier: MIT
/*
 * simcp on virtual time, through its own API: chained non-preemptible
 * sections and the device's bound on them (SIMCP_F_CHAIN,
 * SIMCP_FAULT_NONPREEMPT), and what a context switch moves - only the
 * scratch pages a context wrote, never another context's data - what that
 * costs, and the per-context scratch size.
 */
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "simcp_priv.h" /* white box: the live state, the saved states */
#include "simcp_test.h"

#define TAG_A 0xa001u
#define TAG_B 0xb002u
#define BASE 0x80000000ull /* both guests use the same gpa range */
#define GUEST_SIZE (1u << 20)
#define DATA(off) (BASE + GUEST_DATA_OFF + (off))
#define PAGE 4096u
#define HDR (72u + 8u + 2u) /* registers, completed count, bitmap of 16 pages */

static struct {
	struct simcp *s;
	struct ev_log log;
	struct guest a, b;
	vc_time_t ovh;
	uint64_t ctx_bw;
	/* Set by the sink when asked to: a stop from inside an interrupt. */
	bool stop_on_irq;
	int stop_ret;
	vc_time_t stop_ra;
} F;

/* The next setup's configuration beyond the defaults. */
static struct simcp_config fixture;

static vc_time_t xfer(uint64_t bytes, uint64_t bw)
{
	return (bytes * 1000000000ull + bw - 1) / bw;
}

/* Logs, and for TAG_A's interrupt stops A as the framework would. */
static void sink(void *opaque, uint32_t tag, enum vc_event ev)
{
	ev_sink(&F.log, tag, ev);
	if (F.stop_on_irq && tag == TAG_A && ev == VC_EV_IRQ) {
		F.stop_on_irq = false;
		F.stop_ret = simcp_stop(F.a.x, &F.stop_ra);
	}
}

static int setup(void **state)
{
	struct simcp_config cfg = fixture;
	struct simcp_timing t;

	cfg.mode = SIMCP_MODE_VTIME;
	cfg.event = sink;
	vc_vtime_reset();
	memset(&F, 0, sizeof(F));
	assert_int_equal(simcp_create(&cfg, &F.s), 0);
	simcp_timing(F.s, &t);
	F.ovh = t.cmd_overhead_ns;
	F.ctx_bw = t.ctx_bw;
	guest_init(&F.a, BASE, GUEST_SIZE);
	guest_init(&F.b, BASE, GUEST_SIZE);
	assert_int_equal(simcp_ctx_alloc(F.s, TAG_A, &F.a.x), 0);
	assert_int_equal(simcp_ctx_alloc(F.s, TAG_B, &F.b.x), 0);
	guest_ring_init(&F.a, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	guest_ring_init(&F.b, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	return 0;
}

static int setup_bound(void **state)
{
	fixture.max_nonpreempt = VC_USEC(250);
	return setup(state);
}

static int teardown(void **state)
{
	memset(&fixture, 0, sizeof(fixture));
	simcp_ctx_free(F.a.x);
	simcp_ctx_free(F.b.x);
	simcp_destroy(F.s);
	guest_fini(&F.a);
	guest_fini(&F.b);
	return 0;
}

static void run(void)
{
	vc_vtime_advance(VC_MSEC(10));
}

static void switch_in(struct guest *g)
{
	assert_int_equal(simcp_set_iommu(F.s, &g->io), 0);
	assert_int_equal(simcp_load(g->x), 0);
	assert_int_equal(simcp_start(g->x), 0);
}

static void switch_out(struct guest *g)
{
	vc_time_t ra = 0;

	assert_int_equal(simcp_stop(g->x, &ra), 0);
	assert_int_equal(simcp_save(g->x), 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t bytes_moved(void)
{
	struct simcp_stats st;

	simcp_stats(F.s, &st);
	return st.ctx_bytes_moved;
}

/* ---- chains and the bound -------------------------------------------- */

/*
 * A chain of four refuses a stop from its first command to its last, at
 * the boundaries inside it too, each time with the rest of the chain as
 * the hint; after it the retry finds the device at a boundary.
 */
static void test_chain_refuses_until_end(void **state)
{
	const vc_time_t c = F.ovh + VC_USEC(100); /* each command of the chain */
	const uint8_t np = SIMCP_F_NOPREEMPT, ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *a = &F.a;
	vc_time_t ra = 0, start;

	switch_in(a);
	start = vc_os_now() + xfer(HDR, F.ctx_bw);
	for (int k = 0; k < 3; k++)
		guest_push(a, cmd_compute(VC_USEC(100), 0, ch));
	guest_push(a, cmd_compute(VC_USEC(100), 0, np));
	guest_push(a, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(a);

	vc_vtime_run_until(start + VC_USEC(30));
	assert_int_equal(simcp_stop(a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, start + c - vc_os_now() + 3 * c);
	for (int k = 1; k < 4; k++) {
		/* On a boundary inside the chain: the next command has begun. */
		vc_vtime_run_until(start + k * c);
		assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), k);
		assert_int_equal(simcp_stop(a->x, &ra), -VC_EAGAIN);
		assert_int_equal(ra, (4 - k) * c);
	}
	vc_vtime_run_until(start + 4 * c);
	assert_int_equal(simcp_stop(a->x, &ra), 0);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 4);
	assert_int_equal(rd(a->x, SIMCP_REG_FENCE_LO), 0);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(simcp_save(a->x), 0);
}

/*
 * A boundary inside a chain where the device delivers events first (a
 * fence with an interrupt in the chain): a stop there, from the event
 * sink as the framework makes it, is refused with the rest of the chain.
 */
static void test_chain_boundary_with_event(void **state)
{
	const uint8_t ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *a = &F.a;
	vc_time_t ra = 0;

	switch_in(a);
	guest_push(a, cmd_compute(VC_USEC(10), 0, ch));
	guest_push(a, cmd_fence(5, 0, ch | SIMCP_F_IRQ));
	guest_push(a, cmd_compute(VC_USEC(40), 0, SIMCP_F_NOPREEMPT));
	F.stop_on_irq = true;
	guest_doorbell(a);
	run();
	assert_false(F.stop_on_irq);
	assert_int_equal(F.stop_ret, -VC_EAGAIN);
	assert_int_equal(F.stop_ra, F.ovh + VC_USEC(40));
	/* Never retried: the chain ran to its end, the device went on. */
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 3);
	assert_int_equal(simcp_stop(a->x, &ra), 0);
}

/*
 * A chain whose next command is not submitted when its command ends ends
 * there: the stop is accepted, and a flagged command submitted later is a
 * section of its own (the bound counts it alone).
 */
static void test_chain_ends_without_next(void **state)
{
	const uint8_t ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *a = &F.a;
	vc_time_t ra = 0, end;

	switch_in(a);
	end = vc_os_now() + xfer(HDR, F.ctx_bw) + F.ovh + VC_USEC(200);
	guest_submit(a, cmd_compute(VC_USEC(200), 0, ch));
	vc_vtime_run_until(end);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 1);
	/* 200 us more would pass the 250 us bound in one section; not in two. */
	guest_submit(a, cmd_compute(VC_USEC(200), 0, SIMCP_F_NOPREEMPT));
	vc_vtime_run_until(end + VC_USEC(10));
	assert_int_equal(simcp_stop(a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, F.ovh + VC_USEC(190));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 2);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(simcp_stop(a->x, &ra), 0);
}

/*
 * A chain that would pass the bound faults at the command that would
 * cross it: that command and everything after it do nothing, the ring
 * halts with FAULT_HEAD at it and IRQ_STATUS.ERROR raised, and RESUME
 * goes on.  The hint of a refusal counts only what can run.
 */
static void test_chain_over_bound_faults(void **state)
{
	const uint8_t ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *a = &F.a;
	uint64_t *wb = gp(a, DATA(0x2000));
	vc_time_t ra = 0, start;
	uint32_t bad;
	int i;

	memset(gp(a, DATA(0)), 0x5a, PAGE);
	switch_in(a);
	start = vc_os_now() + xfer(HDR, F.ctx_bw);
	guest_push(a, cmd_compute(VC_USEC(100), 0, ch));
	guest_push(a, cmd_compute(VC_USEC(100), 0, ch));
	bad = guest_push(a, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT)); /* 300 us > 250 */
	guest_push(a, cmd_load(DATA(0), 0, PAGE));
	guest_push(a, cmd_fence(9, DATA(0x2000), SIMCP_F_IRQ));
	guest_doorbell(a);

	vc_vtime_run_until(start + VC_USEC(50));
	assert_int_equal(simcp_stop(a->x, &ra), -VC_EAGAIN);
	assert_int_equal(ra, start + F.ovh + VC_USEC(100) - vc_os_now() + F.ovh + VC_USEC(100));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_HEAD), bad);
	assert_int_equal(rd(a->x, SIMCP_REG_RING_HEAD), bad + SIMCP_CMD_SIZE);
	assert_true(rd(a->x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED);
	assert_true(rd(a->x, SIMCP_REG_IRQ_STATUS) & SIMCP_IRQ_ERROR);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 2);
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_true(i >= 0);
	/* Two commands, then the fault's overhead: the bound was never passed. */
	assert_int_equal(F.log.e[i].at, start + 2 * (F.ovh + VC_USEC(100)) + F.ovh);
	/* Nothing after it ran. */
	assert_int_equal(*wb, 0);
	assert_true(all_zero(F.s->live.scratch, F.s->ctx_size));
	assert_int_equal(rd(a->x, SIMCP_REG_FENCE_LO), 0);

	wr(a->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 4);
	assert_int_equal(*wb, 9);
}

/* One flagged command longer than the bound faults; unflagged it runs. */
static void test_single_over_bound_faults(void **state)
{
	struct guest *a = &F.a;
	uint32_t bad;

	switch_in(a);
	/* Exactly the bound, overhead included: allowed. */
	guest_submit(a, cmd_compute(VC_USEC(250) - F.ovh, 0, SIMCP_F_NOPREEMPT));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 1);
	bad = guest_submit(a, cmd_compute(VC_USEC(250) - F.ovh + 1, 0, SIMCP_F_NOPREEMPT));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_HEAD), bad);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 1);
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	guest_submit(a, cmd_compute(VC_MSEC(2), 0, 0));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 2);
}

/* With no bound configured the device still has one: the longest COMPUTE. */
static void test_default_bound(void **state)
{
	struct guest *a = &F.a;

	assert_int_equal(F.s->np_bound, SIMCP_MAX_COMPUTE_NS + F.ovh);
	switch_in(a);
	guest_push(a, cmd_compute(SIMCP_MAX_COMPUTE_NS, 0, SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN));
	guest_push(a, cmd_nop());
	guest_push(a, cmd_compute(SIMCP_MAX_COMPUTE_NS, 0, SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN));
	guest_push(a, cmd_compute(1, 0, SIMCP_F_NOPREEMPT));
	guest_doorbell(a);
	vc_vtime_advance(3 * SIMCP_MAX_COMPUTE_NS);
	/* The NOP ended the first chain; the second passes the bound. */
	assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 3);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_HEAD), 3 * SIMCP_CMD_SIZE);
}

/* A context that faulted on the bound leaves the others alone. */
static void test_bound_fault_other_context(void **state)
{
	const uint8_t ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *a = &F.a, *b = &F.b;

	switch_in(a);
	guest_submit(a, cmd_compute(VC_USEC(300), 0, SIMCP_F_NOPREEMPT));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
	switch_out(a);
	switch_in(b);
	guest_push(b, cmd_compute(VC_USEC(100), 0, ch));
	guest_push(b, cmd_compute(VC_USEC(100), 0, SIMCP_F_NOPREEMPT));
	guest_push(b, cmd_fence(2, 0, SIMCP_F_IRQ));
	guest_doorbell(b);
	run();
	assert_int_equal(rd(b->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(b->x, SIMCP_REG_FENCE_LO), 2);
	assert_int_equal(rd(b->x, SIMCP_REG_IRQ_STATUS), SIMCP_IRQ_FENCE);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
	assert_int_equal(ev_count(&F.log, TAG_B, VC_EV_IRQ), 1);
	/* a's fault stays a's. */
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
}

/* ---- dirty tracking and the switch's cost ----------------------------- */

/* A switch moves the registers, the key slots in use and the dirty pages only. */
static void test_only_dirty_pages_move(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	uint64_t m;
	vc_time_t t;
	int i;

	switch_in(a);
	assert_int_equal(bytes_moved(), HDR);
	/* One byte into page 3, 20 bytes across pages 5 and 6. */
	guest_submit(a, cmd_load(DATA(0), 3 * PAGE + 17, 1));
	guest_submit(a, cmd_load(DATA(0), 6 * PAGE - 10, 20));
	run();
	m = bytes_moved();
	switch_out(a);
	assert_int_equal(bytes_moved() - m, HDR + 3 * PAGE);
	assert_int_equal(a->x->st.dirty[0], 1u << 3 | 1u << 5 | 1u << 6);

	/* b wrote nothing: its load moves the header, and costs that much. */
	t = vc_os_now();
	m = bytes_moved();
	guest_push(b, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(b);
	switch_in(b);
	assert_int_equal(bytes_moved() - m, HDR);
	run();
	i = ev_find(&F.log, 0, TAG_B, VC_EV_IRQ);
	assert_true(i >= 0);
	assert_int_equal(F.log.e[i].at, t + xfer(HDR + 3 * PAGE, F.ctx_bw) +
					xfer(HDR, F.ctx_bw) + F.ovh);
	switch_out(b);

	/* a back: its three pages again. */
	m = bytes_moved();
	switch_in(a);
	assert_int_equal(bytes_moved() - m, HDR + 3 * PAGE);

	/* A COMPUTE writes the scratch it mixes; a key slot in use moves too. */
	guest_submit(a, cmd_compute(10, PAGE + 1, 0));
	guest_submit(a, cmd_key(2, DATA(0), 16));
	run();
	m = bytes_moved();
	switch_out(a);
	assert_int_equal(bytes_moved() - m, HDR + 36 + 5 * PAGE);
}

/* What a context wrote comes back exactly, through many switches. */
static void test_data_survives(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	uint8_t *pa = gp(a, DATA(0)), *pb = gp(b, DATA(0));
	uint8_t want_a[SIMCP_SCRATCH_SIZE] = { 0 }, want_b[SIMCP_SCRATCH_SIZE] = { 0 };
	uint32_t seed = 1;

	for (int round = 0; round < 6; round++) {
		struct guest *g = round & 1 ? b : a;
		uint8_t *src = round & 1 ? pb : pa, *want = round & 1 ? want_b : want_a;
		uint32_t off = (uint32_t)(round * 7919 + 100) % (SIMCP_SCRATCH_SIZE - 9000);
		uint32_t len = 5000 + (uint32_t)round * 500;

		for (uint32_t k = 0; k < len; k++) {
			seed = seed * 1664525u + 1013904223u;
			src[k] = (uint8_t)(seed >> 24);
		}
		memcpy(want + off, src, len);
		switch_in(g);
		guest_submit(g, cmd_load(DATA(0), off, len));
		run();
		switch_out(g);
	}
	switch_in(a);
	guest_submit(a, cmd_store(0, DATA(0x20000), SIMCP_SCRATCH_SIZE));
	run();
	assert_memory_equal(gp(a, DATA(0x20000)), want_a, SIMCP_SCRATCH_SIZE);
	switch_out(a);
	switch_in(b);
	guest_submit(b, cmd_store(0, DATA(0x20000), SIMCP_SCRATCH_SIZE));
	run();
	assert_memory_equal(gp(b, DATA(0x20000)), want_b, SIMCP_SCRATCH_SIZE);
}

/*
 * No data crosses contexts: a page a wrote and b never did reads as zero
 * for b, though b's load moved nothing into it; and a page both wrote
 * holds each one's own data.
 */
static void test_no_leak_between_contexts(void **state)
{
	struct guest *a = &F.a, *b = &F.b;

	memset(gp(a, DATA(0)), 'A', 2 * PAGE);
	memset(gp(b, DATA(0)), 'B', PAGE);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 3 * PAGE, PAGE));
	guest_submit(a, cmd_load(DATA(0), 7 * PAGE, PAGE));
	run();
	switch_out(a);

	switch_in(b);
	/* The device's own copy no longer holds a's pages either. */
	assert_true(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	guest_submit(b, cmd_load(DATA(0), 7 * PAGE, PAGE));
	guest_submit(b, cmd_store(0, DATA(0x20000), SIMCP_SCRATCH_SIZE));
	run();
	assert_true(all_zero(gp(b, DATA(0x20000)), 7 * PAGE));
	assert_int_equal(((uint8_t *)gp(b, DATA(0x20000)))[7 * PAGE], 'B');
	assert_true(all_zero(gp(b, DATA(0x20000 + 8 * PAGE)), SIMCP_SCRATCH_SIZE - 8 * PAGE));
	switch_out(b);

	switch_in(a);
	guest_submit(a, cmd_store(3 * PAGE, DATA(0x20000), PAGE));
	guest_submit(a, cmd_store(7 * PAGE, DATA(0x30000), PAGE));
	run();
	assert_memory_equal(gp(a, DATA(0x20000)), gp(a, DATA(0)), PAGE);
	assert_memory_equal(gp(a, DATA(0x30000)), gp(a, DATA(0)), PAGE);
}

/* RESET, live or saved, and freeing leave nothing behind anywhere. */
static void test_scrub_leaves_nothing(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	struct simcp_stats st0, st1;
	vc_time_t t;

	memset(gp(a, DATA(0)), 0x11, SIMCP_SCRATCH_SIZE);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 2 * PAGE, 2 * PAGE));
	run();
	switch_out(a);
	switch_in(a);
	run();
	/* Live: the scrub takes what it zeroes (two pages), then a is empty. */
	t = vc_os_now();
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	assert_int_equal(F.s->busy_until, t + xfer(HDR + 2 * PAGE, F.ctx_bw));
	assert_true(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	assert_int_equal(F.s->live.dirty[0], 0);
	simcp_stats(F.s, &st0);
	switch_out(a);
	simcp_stats(F.s, &st1);
	assert_int_equal(st1.ctx_bytes_moved - st0.ctx_bytes_moved, HDR);
	/* The saved copy lost its old pages too. */
	assert_true(all_zero(a->x->st.scratch, SIMCP_SCRATCH_SIZE));

	/* Saved: RESET written to the saved context scrubs its copy. */
	guest_ring_init(a, 0);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 0, PAGE));
	run();
	switch_out(a);
	assert_false(all_zero(a->x->st.scratch, PAGE));
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	assert_true(all_zero(a->x->st.scratch, SIMCP_SCRATCH_SIZE));
	assert_int_equal(a->x->st.dirty[0], 0);

	/* Freed after a save: the device's live copy goes with it. */
	guest_ring_init(a, 0);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), 9 * PAGE, PAGE));
	run();
	switch_out(a);
	assert_false(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	simcp_ctx_free(a->x);
	a->x = NULL;
	assert_true(all_zero(F.s->live.scratch, SIMCP_SCRATCH_SIZE));
	assert_int_equal(F.s->live.dirty[0], 0);
	switch_in(b);
	guest_submit(b, cmd_store(0, DATA(0x20000), SIMCP_SCRATCH_SIZE));
	run();
	assert_true(all_zero(gp(b, DATA(0x20000)), SIMCP_SCRATCH_SIZE));
}

/* The worst case stays the whole context, and it is what admission is told. */
static void test_switch_cost_worst_case(void **state)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc d;
	struct simcp *s;

	simcp_coproc_desc(F.s, "simcp0", 0, 0, &d);
	assert_int_equal(d.switch_cost, 2 * xfer(HDR + 576 + SIMCP_SCRATCH_SIZE, F.ctx_bw));
	assert_int_equal(d.switch_cost, simcp_switch_cost(F.s));

	/* A fixed cost per step, on top of the bytes. */
	cfg.timing.switch_fixed_ns = 700;
	assert_int_equal(simcp_create(&cfg, &s), 0);
	assert_int_equal(simcp_switch_cost(s),
			 2 * (700 + xfer(HDR + 576 + SIMCP_SCRATCH_SIZE, F.ctx_bw)));
	simcp_destroy(s);
}

/* switch_fixed_ns is charged on every save and load, whatever it moves. */
static void test_switch_fixed_cost(void **state)
{
	struct guest *a = &F.a, *b = &F.b;
	vc_time_t t;
	int i;

	assert_int_equal(F.s->t.switch_fixed_ns, 1000);
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
	assert_int_equal(F.log.e[i].at, t + 2 * (1000 + xfer(HDR, F.ctx_bw)) + F.ovh);
}

static int setup_fixed(void **state)
{
	fixture.timing.switch_fixed_ns = 1000;
	return setup(state);
}

/* ctx_size: what SCRATCH_SIZE reports, what commands may reach, what a switch costs. */
static void test_ctx_size(void **state)
{
	static const uint32_t bad[] = {
		1, 100, 4095, 4097, 6000, 16u * 1024 * 1024 + 4096, 32u * 1024 * 1024, UINT32_MAX,
	};
	struct simcp_config cfg = { .mode = SIMCP_MODE_VTIME, .event = ev_sink,
				    .event_opaque = &F.log };
	struct simcp *s;
	struct simcp_ctx *x;
	struct guest *a = &F.a;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.ctx_size = bad[i];
		assert_int_equal(simcp_create(&cfg, &s), -VC_EINVAL);
	}

	/* 12 KiB: a multiple of the page, not a power of two. */
	cfg.ctx_size = 3 * PAGE;
	assert_int_equal(simcp_create(&cfg, &s), 0);
	assert_int_equal(simcp_switch_cost(s), 2 * xfer(72 + 8 + 1 + 576 + 3 * PAGE, F.ctx_bw));
	assert_int_equal(simcp_ctx_alloc(s, TAG_A, &x), 0);
	assert_int_equal(rd(x, SIMCP_REG_SCRATCH_SIZE), 3 * PAGE);
	simcp_ctx_free(x);
	simcp_destroy(s);

	/* 16 MiB, driven for real: the last byte is reachable, one more is not. */
	cfg.ctx_size = SIMCP_CTX_SIZE_MAX;
	assert_int_equal(simcp_create(&cfg, &s), 0);
	simcp_ctx_free(a->x);
	simcp_ctx_free(F.b.x);
	F.b.x = NULL;
	simcp_destroy(F.s);
	F.s = s;
	assert_int_equal(simcp_ctx_alloc(s, TAG_A, &a->x), 0);
	guest_ring_init(a, SIMCP_IRQ_ERROR);
	assert_int_equal(rd(a->x, SIMCP_REG_SCRATCH_SIZE), SIMCP_CTX_SIZE_MAX);
	memset(gp(a, DATA(0)), 0x42, 64);
	switch_in(a);
	guest_submit(a, cmd_load(DATA(0), SIMCP_CTX_SIZE_MAX - 64, 64));
	guest_submit(a, cmd_store(SIMCP_CTX_SIZE_MAX - 64, DATA(0x1000), 64));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), 0);
	assert_memory_equal(gp(a, DATA(0x1000)), gp(a, DATA(0)), 64);
	guest_submit(a, cmd_load(DATA(0), SIMCP_CTX_SIZE_MAX - 63, 64));
	run();
	assert_int_equal(rd(a->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_BAD_CMD);
	/* One page of 4096 dirty: the save moves it and the 512-byte bitmap. */
	wr(a->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	assert_int_equal(simcp_save(a->x), -VC_EBUSY);
	{
		uint64_t m = bytes_moved();

		switch_out(a);
		assert_int_equal(bytes_moved() - m, 72 + 8 + 512 + PAGE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_refuses_until_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_boundary_with_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_ends_without_next, setup_bound, teardown),
		cmocka_unit_test_setup_teardown(test_chain_over_bound_faults, setup_bound, teardown),
		cmocka_unit_test_setup_teardown(test_single_over_bound_faults, setup_bound, teardown),
		cmocka_unit_test_setup_teardown(test_default_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_fault_other_context, setup_bound, teardown),
		cmocka_unit_test_setup_teardown(test_only_dirty_pages_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_leak_between_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_cost_worst_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_fixed_cost, setup_fixed, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_size, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-ctx", tests, NULL, NULL);
}
