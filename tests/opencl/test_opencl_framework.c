// SPDX-License-Identifier: MIT
/*
 * The OpenCL platform under the real framework on real time: two domains
 * keep the device busy with 4 ms kernels under credit (weights 1:2,
 * 1 ms slices), so that nearly every switch finds a kernel in flight and
 * is refused; the framework waits out each refusal, charges the overrun,
 * and the measured shares stay within 5% of the weights, with no reset.
 * A domain whose driver programs the device through vc_domain_mmio() gets
 * its own results and interrupts; a hung context (a WAIT never satisfied)
 * is reset alone while the other finishes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/posix.h>
#include <vcoproc/sched.h>

#include "oclcp_test.h"
#include "sha256.h"

#define MMIO_BASE 0x40000000ull
#define IRQ 9
#define BASE 0x80000000ull
#define DATA(o) (BASE + GUEST_DATA_OFF + (o))

struct dom {
	struct guest g;
	struct vc_domain *d;
	struct vc_vcoproc *v;
	uint64_t irqs;
};

static struct {
	struct vc_fw *fw;
	struct vc_coproc *c;
	struct oclcp *s;
	struct dom dom[2];
} F;

static void host_irq(void *host_dom, uint32_t irq)
{
	struct dom *d = host_dom;

	__atomic_add_fetch(&d->irqs, 1, __ATOMIC_RELAXED);
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

static void ms_sleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int setup(const char *algo, const char *const weights[2], vc_time_t hang)
{
	struct vc_coproc_desc desc;

	memset(&F, 0, sizeof(F));
	F.s = ocl_open(OCLCP_RES_AUTO, NULL);
	assert_int_equal(vc_fw_create(&hops, &F.fw), 0);
	oclcp_coproc_desc(F.s, "ocl0", MMIO_BASE, IRQ, &desc);
	desc.sched = algo;
	if (hang)
		desc.hang_timeout = hang;
	assert_int_equal(vc_coproc_register(F.fw, &desc, &F.c), 0);
	oclcp_attach(F.s, F.c);
	for (int i = 0; i < 2; i++) {
		struct dom *d = &F.dom[i];
		struct vc_param p[1] = { { "weight", "" } };

		snprintf(p[0].val, sizeof(p[0].val), "%s", weights[i]);
		guest_init(&d->g, BASE, 1u << 20);
		assert_int_equal(vc_domain_create(F.fw, (uint32_t)i + 1, NULL, &d->g.io, d, &d->d), 0);
		assert_int_equal(vc_vcoproc_create(d->d, F.c, p, 1, &d->v, NULL), 0);
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

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++)
		vc_domain_destroy(F.dom[i].d);
	oclcp_attach(F.s, NULL);
	assert_int_equal(vc_coproc_unregister(F.c), 0);
	vc_fw_destroy(F.fw);
	oclcp_destroy(F.s);
	for (int i = 0; i < 2; i++)
		guest_fini(&F.dom[i].g);
	return 0;
}

static int setup_credit(void **state)
{
	static const char *const w[2] = { "256", "512" };

	setup("credit", w, 0);
	assert_int_equal(vc_coproc_param_set(F.c, "slice", "1ms"), 0);
	return 0;
}

static int setup_rr(void **state)
{
	static const char *const w[2] = { "256", "256" };

	return setup("rr", w, VC_MSEC(200));
}

/* Commands queued and not yet run. */
static uint32_t queued(struct dom *d)
{
	uint32_t head = drd(d, SIMCP_REG_RING_HEAD);

	return ((d->g.tail - head) & (d->g.ring_size - 1)) / SIMCP_CMD_SIZE;
}

static void test_credit_shares_with_refusals(void **state)
{
	struct vc_vcoproc_stats vs[2], v0[2];
	struct vc_coproc_stats cs;
	struct vc_share want[2];
	double total = 0;

	/* Keep both busy for a warm-up and a 3 s window. */
	for (int t = 0; t < 3500; t += 5) {
		for (int i = 0; i < 2; i++) {
			struct dom *d = &F.dom[i];

			/* Deep queues: a late wake-up of this loop never lets one run dry. */
			if (queued(d) < 64) {
				for (int k = 0; k < 48; k++)
					guest_push(&d->g, cmd_compute(VC_MSEC(4), 0, 0));
				dwr(d, SIMCP_REG_RING_TAIL, d->g.tail);
			}
		}
		if (t == 500)
			for (int i = 0; i < 2; i++)
				vc_vcoproc_stats(F.dom[i].v, &v0[i]);
		ms_sleep(5);
	}
	for (int i = 0; i < 2; i++) {
		vc_vcoproc_stats(F.dom[i].v, &vs[i]);
		assert_int_equal(vc_vcoproc_expected_share(F.dom[i].v, &want[i]), 0);
		total += (double)(vs[i].run_ns - v0[i].run_ns);
	}
	for (int i = 0; i < 2; i++)
		printf("# vcoproc %d: run %llu ms, refusals %llu, refusal wait %llu ms, switches in %llu\n",
		       i, (unsigned long long)(vs[i].run_ns - v0[i].run_ns) / 1000000,
		       (unsigned long long)vs[i].refusals,
		       (unsigned long long)vs[i].refusal_wait_ns / 1000000,
		       (unsigned long long)vs[i].switches_in);
	for (int i = 0; i < 2; i++) {
		double got = (double)(vs[i].run_ns - v0[i].run_ns) / total;
		double exp = (double)want[i].run_ppb / VC_SHARE_ONE;

		printf("# vcoproc %d: share %.4f expected %.4f, refusals %llu, jobs %llu\n", i, got,
		       exp, (unsigned long long)vs[i].refusals, (unsigned long long)vs[i].jobs);
		fflush(stdout);
		assert_true(got > exp * 0.95 && got < exp * 1.05);
		assert_true(vs[i].refusals > 10);  /* the kernels did refuse */
		assert_int_equal(vs[i].resets, 0);
		assert_int_equal(drd(&F.dom[i], SIMCP_REG_FAULT_CODE), 0);
	}
	vc_coproc_stats(F.c, &cs);
	assert_int_equal(cs.resets, 0);
	assert_true(cs.refusals > 20);
}

/* Results and interrupts of each domain, and a hung one reset alone. */
static void test_hang_reset_alone(void **state)
{
	struct dom *hung = &F.dom[0], *ok = &F.dom[1];
	uint8_t want[32];

	guest_push(&hung->g, cmd_wait(DATA(0x40), 1, 0));
	guest_push(&hung->g, cmd_fence(1, 0, SIMCP_F_IRQ));
	dwr(hung, SIMCP_REG_RING_TAIL, hung->g.tail);
	memset(gp(&ok->g, DATA(0)), 'x', 8192);
	simcp_sha256(gp(&ok->g, DATA(0)), 8192, want);
	for (int k = 0; k < 20; k++) {
		guest_push(&ok->g, cmd_load(DATA(0), 0, 8192));
		guest_push(&ok->g, cmd_compute(VC_MSEC(5), 8192, 0));
	}
	guest_push(&ok->g, cmd_hash(SIMCP_HASH_SHA256, DATA(0), 8192, DATA(0x8000)));
	guest_push(&ok->g, cmd_fence(7, 0, SIMCP_F_IRQ));
	dwr(ok, SIMCP_REG_RING_TAIL, ok->g.tail);
	for (int t = 0; t < 3000 && drd(ok, SIMCP_REG_FENCE_LO) != 7; t += 10)
		ms_sleep(10);
	ms_sleep(300);
	assert_int_equal(drd(ok, SIMCP_REG_FENCE_LO), 7);
	assert_memory_equal(gp(&ok->g, DATA(0x8000)), want, 32);
	assert_int_equal(drd(ok, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(ok->irqs, 1);
	assert_int_equal(drd(hung, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_HANG);
	assert_int_equal(hung->irqs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_credit_shares_with_refusals, setup_credit,
						teardown),
		cmocka_unit_test_setup_teardown(test_hang_reset_alone, setup_rr, teardown),
	};

	if (!vc_sched_lookup("credit") || !vc_sched_lookup("rr")) {
		printf("1..0 # SKIP built without credit or rr\n");
		return 0;
	}
	return cmocka_run_group_tests_name("opencl-framework", tests, NULL, NULL);
}
