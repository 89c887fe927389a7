// SPDX-License-Identifier: MIT
/*
 * simcp under the real framework on virtual time, end to end: domains
 * program their rings through vc_domain_mmio() (emulated or forwarded as
 * the framework decides), the scheduler time-slices the device, the
 * device's interrupts reach the right domain, and a hung context is reset
 * alone while the others finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "sha256.h"
#include "simcp_test.h"

#define MMIO_BASE 0x40000000ull
#define IRQ 9
#define BASE 0x80000000ull       /* every domain's memory at the same gpa */
#define GUEST_SIZE (1u << 20)
#define DATA(off) (BASE + GUEST_DATA_OFF + (off))
#define NDOM 3

struct dom {
	struct guest g;
	struct vc_domain *d;
	struct vc_vcoproc *v;
	uint64_t irqs;
};

static struct {
	struct vc_fw *fw;
	struct vc_coproc *c;
	struct simcp *s;
	struct dom dom[NDOM];
	const struct vc_param *vparams; /* each vcoproc's, at creation */
	unsigned int nr_vparams;
} F;

static void host_irq(void *host_dom, uint32_t irq)
{
	struct dom *d = host_dom;

	assert_int_equal(irq, IRQ);
	d->irqs++;
}

static const struct vc_host_ops hops = { .irq_raise = host_irq };

static uint32_t drd(struct dom *d, uint64_t off)
{
	uint64_t v = 0;

	assert_int_equal(vc_domain_mmio(d->d, MMIO_BASE + off, 4, false, &v), 0);
	return (uint32_t)v;
}

static void dwr(struct dom *d, uint64_t off, uint32_t val)
{
	uint64_t v = val;

	assert_int_equal(vc_domain_mmio(d->d, MMIO_BASE + off, 4, true, &v), 0);
}

static int setup_with(const struct vc_param *vparams, unsigned int nr_vparams)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc desc;

	vc_vtime_reset();
	memset(&F, 0, sizeof(F));
	F.vparams = vparams;
	F.nr_vparams = nr_vparams;
	assert_int_equal(simcp_create(&cfg, &F.s), 0);
	assert_int_equal(vc_fw_create(&hops, &F.fw), 0);
	simcp_coproc_desc(F.s, "simcp0", MMIO_BASE, IRQ, &desc);
	desc.sched = "rr";
	desc.hang_timeout = VC_MSEC(4);
	assert_int_equal(vc_coproc_register(F.fw, &desc, &F.c), 0);
	simcp_attach(F.s, F.c);
	assert_int_equal(vc_coproc_param_set(F.c, "slice", "100us"), 0);

	for (int i = 0; i < NDOM; i++) {
		struct dom *d = &F.dom[i];

		guest_init(&d->g, BASE, GUEST_SIZE);
		assert_int_equal(vc_domain_create(F.fw, (uint32_t)i + 1, NULL, &d->g.io, d,
						  &d->d), 0);
		assert_int_equal(vc_vcoproc_create(d->d, F.c, F.vparams, F.nr_vparams, &d->v, NULL), 0);
		/* The driver's set-up, as the guest would do it. */
		assert_int_equal(drd(d, SIMCP_REG_ID), SIMCP_ID_VALUE);
		d->g.ring_gpa = BASE + GUEST_RING_OFF;
		d->g.ring_size = GUEST_RING_SIZE;
		dwr(d, SIMCP_REG_RING_BASE_LO, (uint32_t)d->g.ring_gpa);
		dwr(d, SIMCP_REG_RING_BASE_HI, (uint32_t)(d->g.ring_gpa >> 32));
		dwr(d, SIMCP_REG_RING_SIZE, d->g.ring_size);
		dwr(d, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
		dwr(d, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
	}
	return 0;
}

static int setup(void **state)
{
	return setup_with(NULL, 0);
}

/* Every vcoproc fits rtds's admission control (3 x 2ms in 10ms). */
static int setup_rt(void **state)
{
	static const struct vc_param rt[] = {
		{ "period", "10ms" }, { "budget", "2ms" }, { "weight", "256" },
	};

	return setup_with(rt, VC_ARRAY_SIZE(rt));
}

static int teardown(void **state)
{
	for (int i = 0; i < NDOM; i++)
		vc_domain_destroy(F.dom[i].d);
	simcp_attach(F.s, NULL);
	assert_int_equal(vc_coproc_unregister(F.c), 0);
	vc_fw_destroy(F.fw);
	simcp_destroy(F.s);
	for (int i = 0; i < NDOM; i++)
		guest_fini(&F.dom[i].g);
	return 0;
}

static void doorbell(struct dom *d)
{
	dwr(d, SIMCP_REG_RING_TAIL, d->g.tail);
}

/* Three domains share the device; each gets its own results and interrupts. */
static void test_three_domains_share(void **state)
{
	uint8_t want[NDOM][32];
	struct vc_coproc_stats cs;

	for (int i = 0; i < NDOM; i++) {
		struct dom *d = &F.dom[i];

		/* Same commands, same gpas, different data in each domain. */
		memset(gp(&d->g, DATA(0)), 'a' + i, 8192);
		simcp_sha256(gp(&d->g, DATA(0)), 8192, want[i]);
		for (int k = 0; k < 20; k++) {
			guest_push(&d->g, cmd_load(DATA(0), 0, 8192));
			guest_push(&d->g, cmd_compute(VC_USEC(50), 8192, 0));
		}
		guest_push(&d->g, cmd_hash(SIMCP_HASH_SHA256, DATA(0), 8192, DATA(0x8000)));
		guest_push(&d->g, cmd_fence(100 + (uint64_t)i, DATA(0x9000), SIMCP_F_IRQ));
		doorbell(d);
	}
	vc_vtime_advance(VC_MSEC(20));

	for (int i = 0; i < NDOM; i++) {
		struct dom *d = &F.dom[i];
		struct vc_vcoproc_stats vs;

		assert_memory_equal(gp(&d->g, DATA(0x8000)), want[i], 32);
		assert_int_equal(*(uint64_t *)gp(&d->g, DATA(0x9000)), 100 + i);
		assert_int_equal(drd(d, SIMCP_REG_FENCE_LO), 100 + i);
		assert_int_equal(drd(d, SIMCP_REG_CMDS_DONE), 42);
		assert_int_equal(drd(d, SIMCP_REG_FAULT_CODE), 0);
		assert_int_equal(d->irqs, 1);
		vc_vcoproc_stats(d->v, &vs);
		assert_int_equal(vs.jobs, 42);
		assert_int_equal(vs.state, VC_VS_SLEEPING);
		/* ~20 x 50 us each: it had to share the device in 100 us slices. */
		assert_true(vs.switches_in >= 5);
		assert_true(vs.run_ns >= VC_MSEC(1));
	}
	vc_coproc_stats(F.c, &cs);
	assert_int_equal(cs.irqs, NDOM);
	assert_int_equal(cs.resets, 0);
}

/* A context that hangs is reset alone; the others go on. */
static void test_hang_is_isolated(void **state)
{
	struct dom *hung = &F.dom[0];
	uint32_t wait_off;

	wait_off = guest_push(&hung->g, cmd_wait(DATA(0x40), 1, 0));
	guest_push(&hung->g, cmd_fence(1, 0, SIMCP_F_IRQ));
	doorbell(hung);
	for (int i = 1; i < NDOM; i++) {
		struct dom *d = &F.dom[i];

		for (int k = 0; k < 100; k++)
			guest_push(&d->g, cmd_compute(VC_USEC(100), 64, 0));
		guest_push(&d->g, cmd_fence(7, 0, SIMCP_F_IRQ));
		doorbell(d);
	}
	vc_vtime_advance(VC_MSEC(50));

	assert_int_equal(drd(hung, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_HANG);
	assert_int_equal(drd(hung, SIMCP_REG_FAULT_HEAD), wait_off);
	assert_int_equal(drd(hung, SIMCP_REG_RING_HEAD), hung->g.tail);
	assert_int_equal(drd(hung, SIMCP_REG_IRQ_STATUS) & SIMCP_IRQ_ERROR, SIMCP_IRQ_ERROR);
	assert_int_equal(drd(hung, SIMCP_REG_CMDS_DONE), 0);
	assert_int_equal(hung->irqs, 1); /* the reset's, once */
	for (int i = 1; i < NDOM; i++) {
		assert_int_equal(drd(&F.dom[i], SIMCP_REG_FENCE_LO), 7);
		assert_int_equal(drd(&F.dom[i], SIMCP_REG_FAULT_CODE), 0);
		assert_int_equal(F.dom[i].irqs, 1);
	}

	/* The driver acknowledges, resumes and carries on. */
	dwr(hung, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	dwr(hung, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	guest_push(&hung->g, cmd_fence(2, 0, SIMCP_F_IRQ));
	doorbell(hung);
	vc_vtime_advance(VC_MSEC(5));
	assert_int_equal(drd(hung, SIMCP_REG_FENCE_LO), 2);
	assert_int_equal(hung->irqs, 2);
}

static bool coproc_param_is(const char *key, const char *val)
{
	struct vc_param p[16];
	unsigned int n = vc_coproc_params(F.c, p, 16);

	for (unsigned int i = 0; i < n && i < 16; i++)
		if (!strcmp(p[i].key, key))
			return !strcmp(p[i].val, val);
	return false;
}

/*
 * The algorithm changes at run time, into rtds and arinc653 and back to
 * credit and rr, while every domain has work in flight: no vcoproc and no
 * command is lost, each domain gets its own results and one interrupt, and
 * the instance parameters given to rr (slice=100us) are rr's again after
 * the round trip.
 */
static void test_algo_round_trip_keeps_work(void **state)
{
	static const char *const trip[] = {
		"credit", "rtds", "arinc653", "rr", "arinc653", "rtds", "credit",
	};
	const unsigned int cmds = 2 * 40 + 2;
	uint8_t want[NDOM][32];
	struct vc_vcoproc *vs[NDOM + 1];
	struct vc_coproc_stats cs;

	for (size_t i = 0; i < VC_ARRAY_SIZE(trip); i++)
		if (!vc_sched_lookup(trip[i]))
			skip();
	for (int i = 0; i < NDOM; i++) {
		struct dom *d = &F.dom[i];

		memset(gp(&d->g, DATA(0)), 'k' + i, 8192);
		simcp_sha256(gp(&d->g, DATA(0)), 8192, want[i]);
		for (int k = 0; k < 40; k++) {
			guest_push(&d->g, cmd_load(DATA(0), 0, 8192));
			guest_push(&d->g, cmd_compute(VC_USEC(100), 8192, 0));
		}
		guest_push(&d->g, cmd_hash(SIMCP_HASH_SHA256, DATA(0), 8192, DATA(0x8000)));
		guest_push(&d->g, cmd_fence(200 + (uint64_t)i, DATA(0x9000), SIMCP_F_IRQ));
		doorbell(d);
	}
	for (size_t t = 0; t < VC_ARRAY_SIZE(trip); t++) {
		uint32_t left = 0;

		vc_vtime_advance(VC_USEC(700));
		for (int i = 0; i < NDOM; i++)
			left += cmds - drd(&F.dom[i], SIMCP_REG_CMDS_DONE);
		assert_true(left > 0); /* work is in flight at every change */
		assert_int_equal(vc_coproc_sched_set(F.c, trip[t]), 0);
		assert_string_equal(vc_coproc_sched_name(F.c), trip[t]);
		assert_int_equal(vc_coproc_vcoprocs(F.c, vs, NDOM + 1), NDOM);
	}
	vc_vtime_advance(VC_MSEC(200));

	for (int i = 0; i < NDOM; i++) {
		struct dom *d = &F.dom[i];
		struct vc_vcoproc_stats st;

		assert_memory_equal(gp(&d->g, DATA(0x8000)), want[i], 32);
		assert_int_equal(*(uint64_t *)gp(&d->g, DATA(0x9000)), 200 + i);
		assert_int_equal(drd(d, SIMCP_REG_CMDS_DONE), cmds);
		assert_int_equal(drd(d, SIMCP_REG_FAULT_CODE), 0);
		assert_int_equal(d->irqs, 1);
		vc_vcoproc_stats(d->v, &st);
		assert_int_equal(st.jobs, cmds);
		assert_int_equal(st.resets, 0);
		assert_int_equal(st.state, VC_VS_SLEEPING);
	}
	vc_coproc_stats(F.c, &cs);
	assert_int_equal(cs.resets, 0);
	assert_int_equal(cs.nr_vcoprocs, NDOM);
	/* rr's slice came back with rr; credit kept its own default. */
	assert_true(coproc_param_is("slice", "10ms"));
	assert_int_equal(vc_coproc_sched_set(F.c, "rr"), 0);
	assert_true(coproc_param_is("slice", "100us"));
}

/* A non-preemptible command delays a switch by its remaining time. */
static void test_nonpreemptible_refusal(void **state)
{
	struct vc_vcoproc_stats vs;

	guest_push(&F.dom[0].g, cmd_compute(VC_USEC(1000), 0, SIMCP_F_NOPREEMPT));
	guest_push(&F.dom[0].g, cmd_fence(1, 0, 0));
	doorbell(&F.dom[0]);
	guest_push(&F.dom[1].g, cmd_fence(2, 0, 0));
	doorbell(&F.dom[1]);
	vc_vtime_advance(VC_MSEC(5));

	assert_int_equal(drd(&F.dom[0], SIMCP_REG_FENCE_LO), 1);
	assert_int_equal(drd(&F.dom[1], SIMCP_REG_FENCE_LO), 2);
	vc_vcoproc_stats(F.dom[0].v, &vs);
	assert_true(vs.refusals >= 1);
	/* Waited out the 1 ms section, not much more. */
	assert_true(vs.refusal_wait_ns > VC_USEC(800));
	assert_true(vs.refusal_wait_ns <= VC_USEC(1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_domains_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_is_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonpreemptible_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_algo_round_trip_keeps_work, setup_rt, teardown),
	};

	if (!vc_sched_lookup("rr")) {
		printf("1..0 # SKIP built without rr, which these tests schedule with\n");
		return 0;
	}
	return cmocka_run_group_tests_name("simcp-framework", tests, NULL, NULL);
}
