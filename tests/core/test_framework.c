// SPDX-License-Identifier: MIT
/*
 * Framework tests on the mock coprocessor and virtual time: lifecycle,
 * the context-switch protocol (refusal, stop in progress, stop timeout),
 * MMIO forwarding vs emulation, interrupt routing, hang recovery, run-time
 * algorithm and parameter changes, statistics and the trace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/vtime.h>

#include "death.h"
#include "internal.h"
#include "mock_platform.h"
#include "switch.h"

#define MS(x) VC_MSEC(x)

static struct mock_host h;
static struct mock_dom d1, d2, d3;

static int setup_rr(void **state)
{
	(void)state;
	assert_int_equal(mock_host_init(&h, "rr", 0), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	assert_int_equal(mock_dom_init(&h, &d2, 2, NULL, 0), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "1ms"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (h.fw)
		mock_host_fini(&h);
	return 0;
}

static struct vc_vcoproc_stats vstats(struct mock_dom *md)
{
	struct vc_vcoproc_stats s;

	vc_vcoproc_stats(md->v, &s);
	return s;
}

static struct vc_coproc_stats cstats(void)
{
	struct vc_coproc_stats s;

	vc_coproc_stats(h.c, &s);
	return s;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void test_create_destroy(void **state)
{
	struct vc_vcoproc *arr[4], *v;
	struct vc_domain *d;

	(void)state;
	assert_int_equal(vc_coproc_vcoprocs(h.c, arr, 4), 2);
	assert_ptr_equal(arr[0], d1.v);
	assert_ptr_equal(arr[1], d2.v);
	/* One vcoproc per (domain, coproc); one domain per id. */
	assert_int_equal(vc_vcoproc_create(d1.d, h.c, NULL, 0, &v, NULL), -VC_EEXIST);
	assert_int_equal(vc_domain_create(h.fw, 1, "again", NULL, NULL, &d), -VC_EEXIST);
	assert_ptr_equal(vc_domain_find(h.fw, 2), d2.d);
	assert_ptr_equal(vc_coproc_find(h.fw, "mock0"), h.c);
	assert_null(vc_coproc_find(h.fw, "nope"));
	vc_domain_destroy(d1.d);
	assert_int_equal(vc_coproc_vcoprocs(h.c, arr, 4), 1);
	assert_null(vc_domain_find(h.fw, 1));
	assert_int_equal(vc_coproc_unregister(h.c), -VC_EBUSY);
}

/* "name or id": all digits is an id, anything else a name; first created wins. */
static void test_domain_lookup(void **state)
{
	struct vc_domain *n7, *twin, *digits;

	(void)state;
	assert_int_equal(vc_domain_create(h.fw, 7, "web", NULL, NULL, &n7), 0);
	assert_int_equal(vc_domain_create(h.fw, 8, "web", NULL, NULL, &twin), 0);
	assert_int_equal(vc_domain_create(h.fw, 9, "2", NULL, NULL, &digits), 0);
	assert_ptr_equal(vc_domain_lookup(h.fw, "d1"), d1.d);
	assert_ptr_equal(vc_domain_lookup(h.fw, "1"), d1.d);
	assert_ptr_equal(vc_domain_lookup(h.fw, "0007"), n7);
	assert_ptr_equal(vc_domain_lookup(h.fw, "web"), n7);   /* the first created */
	assert_ptr_equal(vc_domain_lookup(h.fw, "8"), twin);
	assert_ptr_equal(vc_domain_lookup(h.fw, "2"), d2.d);   /* an id, not the name "2" */
	assert_ptr_equal(vc_domain_lookup(h.fw, "9"), digits);
	assert_null(vc_domain_lookup(h.fw, "3"));
	assert_null(vc_domain_lookup(h.fw, "4294967296"));     /* past 2^32-1 */
	assert_null(vc_domain_lookup(h.fw, "99999999999999999999999"));
	assert_null(vc_domain_lookup(h.fw, "7x"));
	assert_null(vc_domain_lookup(h.fw, " 7"));
	assert_null(vc_domain_lookup(h.fw, ""));
	assert_null(vc_domain_lookup(h.fw, NULL));
	assert_true(vc_domain_match(n7, "7"));
	assert_true(vc_domain_match(n7, "web"));
	assert_false(vc_domain_match(n7, "Web"));
	assert_false(vc_domain_match(digits, "2"));
	assert_false(vc_domain_match(NULL, "7"));
	vc_domain_destroy(n7);
	assert_ptr_equal(vc_domain_lookup(h.fw, "web"), twin);
	vc_domain_destroy(twin);
	vc_domain_destroy(digits);
	assert_null(vc_domain_lookup(h.fw, "web"));
}

static void test_create_platform_failure_undone(void **state)
{
	struct vc_domain *d;
	struct vc_vcoproc *v = NULL;

	(void)state;
	assert_int_equal(vc_domain_create(h.fw, 7, "d7", NULL, NULL, &d), 0);
	h.dev->fail_alloc = -VC_ENOMEM;
	assert_int_equal(vc_vcoproc_create(d, h.c, NULL, 0, &v, NULL), -VC_ENOMEM);
	assert_null(v);
	h.dev->fail_alloc = 0;
	assert_int_equal(cstats().nr_vcoprocs, 2);
	/* The failure left nothing behind: a later create works. */
	assert_int_equal(vc_vcoproc_create(d, h.c, NULL, 0, &v, NULL), 0);
	assert_int_equal(cstats().nr_vcoprocs, 3);
}

/* The algorithm names the value it refuses: vc_vcoproc_create() says which. */
static void test_create_names_refused_value(void **state)
{
	struct vc_param p[3] = { { "cap", "10" }, { "weight", "0" }, { "period", "10ms" } };
	struct vc_domain *d;
	struct vc_vcoproc *v = NULL;
	int refused = 7;

	(void)state;
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_int_equal(vc_domain_create(h.fw, 10, "d10", NULL, NULL, &d), 0);
	assert_int_equal(vc_vcoproc_create(d, h.c, p, 3, &v, &refused), -VC_EINVAL);
	assert_int_equal(refused, 1);
	assert_null(v);
	p[1] = (struct vc_param){ "weight", "300" };
	assert_int_equal(vc_vcoproc_create(d, h.c, p, 3, &v, &refused), 0);
	assert_int_equal(refused, -1);
	vc_domain_destroy(d);
}

static void test_create_bad_params(void **state)
{
	struct vc_param p[VC_VCOPROC_MAX_PARAMS + 1];
	struct vc_domain *d;
	struct vc_vcoproc *v = NULL;

	(void)state;
	memset(p, 0, sizeof(p));
	assert_int_equal(vc_domain_create(h.fw, 8, "d8", NULL, NULL, &d), 0);
	/* An empty key, and too many parameters. */
	assert_int_equal(vc_vcoproc_create(d, h.c, p, 1, &v, NULL), -VC_EINVAL);
	assert_int_equal(vc_vcoproc_create(d, h.c, p, VC_VCOPROC_MAX_PARAMS + 1, &v, NULL),
			 -VC_E2BIG);
	assert_null(v);
	assert_int_equal(cstats().nr_vcoprocs, 2);
}

static void test_create_unknown_key(void **state)
{
	struct vc_param p[2] = { { "weigth", "512" }, { "weight", "512" } };
	struct vc_domain *d;
	struct vc_vcoproc *v = NULL;

	(void)state;
	struct vc_param q[3] = { { "weight", "512" }, { "cap", "10" }, { "nope", "1" } };
	int refused = 7;

	assert_int_equal(vc_domain_create(h.fw, 9, "d9", NULL, NULL, &d), 0);
	/* A typo no algorithm knows is refused, and named ... */
	assert_int_equal(vc_vcoproc_create(d, h.c, p, 1, &v, &refused), -VC_ENOENT);
	assert_int_equal(refused, 0);
	assert_int_equal(vc_vcoproc_create(d, h.c, q, 3, &v, &refused), -VC_ENOENT);
	assert_int_equal(refused, 2);
	assert_null(v);
	assert_int_equal(cstats().nr_vcoprocs, 2);
	/* ... a key of another algorithm (credit's weight under rr) is kept. */
	assert_int_equal(vc_vcoproc_create(d, h.c, &p[1], 1, &v, NULL), 0);
	assert_string_equal(vc_vcoproc_param(v, "weight"), "512");
}

static void test_bad_desc_rejected(void **state)
{
	struct vc_coproc_desc desc = h.dev->desc;
	struct vc_coproc *c;

	(void)state;
	desc.name = "mock0";
	assert_int_equal(vc_coproc_register(h.fw, &desc, &c), -VC_EEXIST);
	desc.name = "mock1";
	desc.sched = "no-such-algo";
	assert_int_equal(vc_coproc_register(h.fw, &desc, &c), -VC_ENOENT);
	desc.sched = NULL;
	desc.ops = NULL;
	assert_int_equal(vc_coproc_register(h.fw, &desc, &c), -VC_EINVAL);
}

/* ---- running work -------------------------------------------------------------- */

static void test_single_domain_runs(void **state)
{
	struct vc_vcoproc_stats s;

	(void)state;
	/* Not loaded: the doorbell is emulated and wakes the vcoproc. */
	assert_int_equal(mock_submit(&d1, 10, MS(1), false), 0);
	s = vstats(&d1);
	assert_int_equal(s.mmio_emulated, 1);
	assert_true(s.loaded);
	vc_vtime_advance(MS(20));
	/* Loaded now: the read is forwarded. */
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 10);
	s = vstats(&d1);
	assert_int_equal(s.mmio_forwarded, 1);
	assert_int_equal(s.run_ns, MS(10));
	assert_int_equal(s.jobs, 10);
	assert_int_equal(s.switches_in, 1);
	assert_int_equal(s.state, VC_VS_SLEEPING);
	assert_true(s.loaded); /* an idle context stays on the device */
	/* The other domain reads its own (emulated) registers meanwhile. */
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 0);
	assert_int_equal(vstats(&d2).mmio_emulated, 1);
}

static void test_two_domains_share(void **state)
{
	struct vc_vcoproc_stats s1, s2;

	(void)state;
	mock_submit(&d1, 1000, VC_USEC(250), false);
	mock_submit(&d2, 1000, VC_USEC(250), false);
	vc_vtime_advance(MS(100));
	s1 = vstats(&d1);
	s2 = vstats(&d2);
	assert_int_equal(s1.run_ns + s2.run_ns, MS(100));
	assert_true(s1.run_ns >= MS(49) && s1.run_ns <= MS(51));
	assert_true(s1.switches_in >= 45 && s2.switches_in >= 45);
	assert_true(cstats().switches >= 90);
}

static void test_idle_yields_early(void **state)
{
	(void)state;
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "10ms"), 0);
	mock_submit(&d1, 2, MS(1), false);
	mock_submit(&d2, 100, MS(1), false);
	vc_vtime_advance(MS(2) + 1);
	/* d1 ran out of work at 2 ms, long before its 10 ms slice. */
	assert_true(vstats(&d2).loaded);
	assert_int_equal(vstats(&d1).run_ns, MS(2));
	assert_int_equal(vstats(&d1).state, VC_VS_SLEEPING);
	assert_int_equal(vstats(&d2).state, VC_VS_RUNNING);
}

/* ---- the switch protocol ---------------------------------------------------------- */

static void test_refused_switch_retried_after_hint(void **state)
{
	struct mock_dev *m = h.dev;
	struct vc_vcoproc_stats s;

	(void)state;
	mock_submit(&d1, 2, MS(5), true); /* two 5 ms non-preemptible jobs */
	mock_submit(&d2, 10, MS(1), false);
	vc_vtime_advance(MS(1));
	/* Slice over at 1 ms: refused, 4 ms left in the job. */
	assert_int_equal(m->nr_stops, 1);
	assert_int_equal(m->stop_ret[0], -VC_EAGAIN);
	assert_true(vstats(&d1).loaded);
	vc_vtime_advance(MS(4));
	/* Retried exactly at the hint; the device had begun job 2: refused. */
	assert_int_equal(m->nr_stops, 2);
	assert_int_equal(m->stop_at[1], m->stop_at[0] + MS(4));
	assert_int_equal(m->stop_ret[1], -VC_EAGAIN);
	vc_vtime_advance(MS(5) + 1);
	/* d1 went idle at 10 ms: d2 runs, d1 was charged all 10 ms. */
	assert_true(vstats(&d2).loaded);
	s = vstats(&d1);
	assert_int_equal(s.run_ns, MS(10));
	assert_int_equal(s.refusals, 2);
	assert_int_equal(s.refusal_wait_ns, MS(9));
	assert_int_equal(cstats().refusals, 2);
}

static void test_stop_in_progress(void **state)
{
	(void)state;
	mock_submit(&d1, 1, MS(3), false); /* preemptible 3 ms job */
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2));
	/* The stop was accepted at 1 ms; the job ends at 3 ms. */
	assert_int_equal(h.dev->stop_ret[0], -VC_EINPROGRESS);
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	assert_int_equal(vc_vcoproc_state(d2.v), VC_VS_WAITING);
	vc_vtime_advance(MS(1));
	assert_true(vstats(&d2).loaded);
	assert_int_equal(vstats(&d1).run_ns, MS(3));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SLEEPING);
}

/*
 * A wake-up while the device stops: when the stop completes, the engine
 * decides again with what it knows then, instead of loading the vcoproc
 * it chose before - which would only be saved again at once (a run of no
 * length, two switches' worth of device time for nothing).
 */
static void test_wake_during_stop_no_stale_switch(void **state)
{
	static const char *const p1[] = { "budget=2ms", "period=10ms" };
	static const char *const p2[] = { "budget=1ms", "period=100ms" };
	static const char *const p3[] = { "budget=1ms", "period=5ms" };

	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "rtds", 0), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, p1, 2), 0);
	assert_int_equal(mock_dom_init(&h, &d2, 2, p2, 2), 0);
	assert_int_equal(mock_dom_init(&h, &d3, 3, p3, 2), 0);
	mock_submit(&d1, 1, MS(3), false);  /* one 3 ms command: a stop waits for its end */
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2) + VC_USEC(500));
	/* d1's budget ran out at 2 ms: the switch to d2 waits for the stop. */
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	mock_submit(&d3, 1, MS(1), false);  /* an earlier deadline than d2's */
	vc_vtime_advance(MS(1));
	assert_true(vstats(&d3).loaded);
	assert_int_equal(vstats(&d2).switches_in, 0);  /* no run of no length */
	vc_vtime_advance(MS(5));
	assert_int_equal(mock_reg_read(&d3, MOCK_REG_DONE), 1);
	assert_true(vstats(&d2).switches_in >= 1);      /* d2's turn came after */
}

static void test_completion_racing_switch_reaches_owner(void **state)
{
	(void)state;
	mock_ctx_of(&d1)->irq_per_job = true;
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(3));
	/* The completion and the stop happened together at 3 ms. */
	assert_true(vstats(&d2).loaded);
	assert_int_equal(d1.irqs, 1);
	assert_int_equal(d1.last_irq, MOCK_IRQ);
	assert_int_equal(d2.irqs, 0);
	assert_int_equal(vstats(&d1).irqs, 1);
}

/*
 * An interrupt that reaches the framework after its context was switched
 * out (the device raised it at the end of d1's job; it was still on its way
 * when d2 was loaded) goes to d1, whose context raised it, not to d2, whose
 * context is on the device now.
 */
static void test_late_completion_reaches_owner_not_loaded(void **state)
{
	(void)state;
	h.dev->hold_irqs = true;
	mock_ctx_of(&d1)->irq_per_job = true;
	mock_ctx_of(&d2)->irq_per_job = true;
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(3)); /* stop accepted at 1 ms, d1's job ends at 3 ms */
	assert_int_equal(h.dev->nr_held_irqs, 1);
	assert_true(vstats(&d2).loaded);
	assert_false(vstats(&d1).loaded);
	assert_int_equal(d1.irqs + d2.irqs, 0);
	/* Now the completion arrives, with d2 loaded. */
	assert_int_equal(mock_deliver_irqs(h.dev), 1);
	assert_int_equal(d1.irqs, 1);
	assert_int_equal(d1.last_irq, MOCK_IRQ);
	assert_int_equal(d2.irqs, 0);
	assert_int_equal(vstats(&d1).irqs, 1);
	assert_int_equal(vstats(&d2).irqs, 0);
	/* d2's own completions, also late, are d2's. */
	vc_vtime_advance(MS(2));
	assert_int_equal(mock_deliver_irqs(h.dev), 2);
	assert_int_equal(d1.irqs, 1);
	assert_int_equal(d2.irqs, 2);
}

static void test_stale_event_dropped(void **state)
{
	uint32_t old_tag = d2.v->tag;

	(void)state;
	vc_domain_destroy(d2.d);
	/* A new vcoproc takes the freed slot with a new generation. */
	assert_int_equal(mock_dom_init(&h, &d3, 3, NULL, 0), 0);
	assert_int_equal(d3.v->slot, old_tag & (VC_MAX_VCOPROCS_PER_COPROC - 1));
	assert_int_not_equal(d3.v->tag, old_tag);
	vc_coproc_event(h.c, old_tag, VC_EV_IRQ);
	assert_int_equal(d3.irqs, 0);
	assert_int_equal(d1.irqs, 0);
	assert_int_equal(cstats().stale_events, 1);
	vc_coproc_event(h.c, d3.v->tag, VC_EV_IRQ);
	assert_int_equal(d3.irqs, 1);
}

static void test_hang_reset_others_continue(void **state)
{
	struct vc_vcoproc_stats s1;

	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "rr", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	assert_int_equal(mock_dom_init(&h, &d2, 2, NULL, 0), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "10ms"), 0);
	mock_ctx_of(&d1)->hang = true;
	mock_submit(&d1, 1, MS(1), false);
	mock_submit(&d2, 10000, MS(1), false);
	vc_vtime_advance(MS(150));
	assert_int_equal(vstats(&d1).resets, 0); /* 80 ms stalled so far */
	vc_vtime_advance(MS(850));
	s1 = vstats(&d1);
	assert_int_equal(s1.resets, 1);
	assert_int_equal(s1.state, VC_VS_SLEEPING);
	assert_int_equal(d1.irqs, 1); /* told through its interrupt ... */
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_ERROR), 1); /* ... and status */
	/* d2 lost only d1's 100 ms of stalled slices. */
	assert_true(mock_reg_read(&d2, MOCK_REG_DONE) >= 880);
	assert_int_equal(vstats(&d2).resets, 0);
	/* The reset context works again after new work. */
	mock_ctx_of(&d1)->hang = false;
	mock_submit(&d1, 3, MS(1), false);
	vc_vtime_advance(MS(100));
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 3);
}

/*
 * A device its host does not run (a starved device thread) is not hung:
 * only time the device has seen counts towards the hang timeout, so the
 * stalled context is reset only once the device runs again and still
 * makes no progress.
 */
static void test_starved_device_not_hung(void **state)
{
	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "rr", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	mock_ctx_of(&d1)->hang = true;
	mock_submit(&d1, 1, MS(1), false);
	vc_vtime_advance(MS(10));
	h.dev->starved = true;
	h.dev->starved_at = vc_os_now();
	vc_vtime_advance(MS(1000));       /* ten hang timeouts, all unseen */
	assert_int_equal(vstats(&d1).resets, 0);
	/* Back: what it did not see is forgiven (a watch period at most counts). */
	h.dev->starved = false;
	vc_vtime_advance(MS(50));
	assert_int_equal(vstats(&d1).resets, 0);
	vc_vtime_advance(MS(100));        /* 100 ms seen without progress */
	assert_int_equal(vstats(&d1).resets, 1);
}

/* A device starved while its context makes progress is never taken for hung. */
static void test_starved_device_progress_not_hung(void **state)
{
	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "rr", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	mock_submit(&d1, 100, MS(20), false);
	vc_vtime_advance(MS(10));
	h.dev->starved = true;
	h.dev->starved_at = vc_os_now();
	vc_vtime_advance(MS(500));
	h.dev->starved = false;
	vc_vtime_advance(MS(500));
	assert_int_equal(vstats(&d1).resets, 0);
	assert_true(mock_ctx_of(&d1)->done >= 40);
}

/* ---- passthrough ------------------------------------------------------------- */

static void test_passthrough_register(void **state)
{
	struct mock_dev *m = mock_dev_new("credit");
	struct vc_coproc *c;

	(void)state;
	/* A reserved device is not scheduled: no algorithm may be named. */
	m->desc.passthrough = true;
	assert_int_equal(vc_coproc_register(h.fw, &m->desc, &c), -VC_EINVAL);
	m->desc.sched = "passthrough";
	m->desc.name = "mock1";
	assert_int_equal(vc_coproc_register(h.fw, &m->desc, &c), 0);
	m->c = c;
	assert_true(vc_coproc_passthrough(c));
	assert_false(vc_coproc_passthrough(h.c));
	assert_string_equal(vc_coproc_sched_name(c), "passthrough");
	assert_int_equal(vc_coproc_sched_set(c, "rr"), -VC_EPERM);
	/* Nor is it an algorithm a shared coprocessor can be given. */
	assert_int_equal(vc_coproc_sched_set(h.c, "passthrough"), -VC_ENOENT);
	assert_int_equal(vc_coproc_unregister(c), 0);
	mock_dev_free(m);
}

/*
 * The owner's context is on the device from its creation, asleep or not:
 * every access is forwarded, none emulated, and nothing is switched.
 */
static void test_passthrough_owner(void **state)
{
	struct mock_dom other;
	struct vc_param weight = { "weight", "256" };
	struct vc_vcoproc *v;
	int refused;

	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "passthrough", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	assert_true(vstats(&d1).loaded);
	assert_int_equal(mock_ctx_of(&d1)->loads, 1);
	(void)mock_reg_read(&d1, MOCK_REG_DONE);
	assert_int_equal(vstats(&d1).mmio_emulated, 0);
	assert_true(vstats(&d1).mmio_forwarded >= 1);

	/* Work runs at once, with no switch, and the context stays after it. */
	mock_submit(&d1, 10, MS(1), false);
	vc_vtime_advance(MS(20));
	assert_int_equal(mock_ctx_of(&d1)->done, 10);
	assert_true(vstats(&d1).loaded);
	assert_int_equal(vstats(&d1).switches_in, 1);
	assert_int_equal(vstats(&d1).switches_out, 0);
	assert_int_equal(vstats(&d1).mmio_emulated, 0);

	/* One owner: a second vcoproc is refused and leaves nothing. */
	assert_int_equal(mock_dom_init(&h, &other, 2, NULL, 0), -VC_EBUSY);
	assert_int_equal(cstats().nr_vcoprocs, 1);
	/* No parameters either. */
	vc_vcoproc_destroy(d1.v);
	d1.v = NULL;
	assert_int_equal(vc_vcoproc_create(d1.d, h.c, &weight, 1, &v, &refused), -VC_EINVAL);
	assert_int_equal(refused, 0);
	assert_int_equal(cstats().nr_vcoprocs, 0);
}

/* The owner goes: its context is reset on the device, then freed. */
static void test_passthrough_owner_goes(void **state)
{
	unsigned int resets, unmapped;

	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "passthrough", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	mock_submit(&d1, 100, MS(1), false);
	vc_vtime_advance(MS(5));
	resets = h.dev->nr_resets;
	unmapped = h.dev->nr_iommu_null;
	vc_vcoproc_destroy(d1.v);
	d1.v = NULL;
	assert_int_equal(h.dev->nr_resets, resets + 1);
	assert_null(h.dev->loaded);
	assert_int_equal(h.dev->nr_iommu_null, unmapped + 1); /* no DMA after it */
	/* The next owner gets the device. */
	assert_int_equal(mock_dom_init(&h, &d2, 2, NULL, 0), 0);
	assert_true(vstats(&d2).loaded);
	mock_submit(&d2, 3, MS(1), false);
	vc_vtime_advance(MS(10));
	assert_int_equal(mock_ctx_of(&d2)->done, 3);
	assert_int_equal(vstats(&d2).resets, 0);
}

/* Nor does an accepted stop time out while the device is not run. */
static void test_starved_device_stop_waits(void **state)
{
	(void)state;
	h.dev->never_stop = true;
	mock_submit(&d1, 1, VC_SEC(5), false);
	mock_submit(&d2, 1000, MS(1), false);
	vc_vtime_advance(MS(50));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	h.dev->starved = true;
	h.dev->starved_at = vc_os_now();
	vc_vtime_advance(MS(500));        /* five stop timeouts, unseen */
	assert_int_equal(vstats(&d1).resets, 0);
	h.dev->starved = false;
	vc_vtime_advance(MS(5));
	assert_int_equal(vstats(&d1).resets, 0);
	vc_vtime_advance(MS(150));        /* the stop timeout seen, and a check */
	assert_int_equal(vstats(&d1).resets, 1);
	assert_true(vstats(&d2).loaded);
}

static void test_stop_timeout_resets(void **state)
{
	(void)state;
	h.dev->never_stop = true;
	mock_submit(&d1, 1, MS(500), false);
	mock_submit(&d2, 1000, MS(1), false);
	vc_vtime_advance(MS(50));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_vtime_advance(MS(60)); /* stop_timeout (100 ms) passed at 101 ms */
	assert_int_equal(vstats(&d1).resets, 1);
	assert_true(vstats(&d2).loaded);
	assert_int_equal(d1.irqs, 1);
}

/*
 * A context that keeps refusing to stop for longer than the platform's
 * longest non-preemptible section (plus the stop timeout) holds the
 * device: it is reset, whatever retry hints the device gives.
 */
static void test_endless_refusal_resets(void **state)
{
	(void)state;
	h.c->desc.max_nonpreempt = MS(5);
	h.c->desc.stop_timeout = MS(20);
	mock_submit(&d1, 1, VC_SEC(10), true); /* refused with a 10 s hint */
	mock_submit(&d2, 100, MS(1), false);
	vc_vtime_advance(MS(20));
	assert_int_equal(vstats(&d1).resets, 0);
	assert_true(vstats(&d1).refusals >= 1);
	vc_vtime_advance(MS(10)); /* 1 ms + 25 ms of refusals */
	assert_int_equal(vstats(&d1).resets, 1);
	assert_true(vstats(&d2).loaded);
	assert_int_equal(d1.irqs, 1);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_ERROR), 1);
	vc_vtime_advance(MS(200));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 100);
}

static void test_destroy_running_domain(void **state)
{
	unsigned int null_before;

	(void)state;
	mock_submit(&d1, 100, MS(1), true);
	mock_submit(&d2, 100, MS(1), false);
	vc_vtime_advance(VC_USEC(500));
	assert_true(vstats(&d1).loaded);
	null_before = h.dev->nr_iommu_null;
	/* d1 is mid non-preemptible job: destroy must not wait for it. */
	vc_domain_destroy(d1.d);
	assert_true(h.dev->nr_iommu_null > null_before || vstats(&d2).loaded);
	vc_vtime_advance(MS(200));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 100);
	assert_int_equal(cstats().nr_vcoprocs, 1);
}

/*
 * A save that fails leaves prev's context on the device: it must be reset as
 * the loaded context and taken off before next is loaded, and only prev pays.
 */
static void test_save_failure_resets_only_prev(void **state)
{
	(void)state;
	mock_submit(&d1, 10, MS(1), false);
	mock_submit(&d2, 10, MS(1), false);
	assert_true(vstats(&d1).loaded);
	h.dev->fail_saves = 1;
	vc_vtime_advance(MS(3)); /* the switch to d2 at 2 ms saves d1: fails once */
	assert_int_equal(vstats(&d1).resets, 1);
	assert_int_equal(d1.irqs, 1);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_ERROR), 1);
	assert_int_equal(vstats(&d2).resets, 0);
	assert_true(vstats(&d2).loaded);
	vc_vtime_advance(MS(20));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 10);
	assert_int_equal(d2.irqs, 0);
}

/*
 * The device finished the accepted stop but its VC_EV_STOPPED is still on
 * its way when stop_timeout expires: the context did stop and must not be
 * reset as if it had not.
 */
static void test_stop_timeout_spares_stopped_context(void **state)
{
	uint64_t stale;

	(void)state;
	h.dev->hold_stopped = true;
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_vtime_advance(MS(100)); /* stopped at 3 ms; stop_timeout at 101 ms */
	assert_int_equal(h.dev->nr_held_stopped, 1);
	assert_int_equal(vstats(&d1).resets, 0);
	assert_int_equal(d1.irqs, 0);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 1);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_ERROR), 0);
	assert_true(vstats(&d2).loaded);
	/* The late event finds nothing to do. */
	stale = cstats().stale_events;
	vc_coproc_event(h.c, h.dev->held_stopped_tag, VC_EV_STOPPED);
	assert_int_equal(cstats().stale_events, stale + 1);
	vc_vtime_advance(MS(10));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 5);
}

/* stop_timeout "never" (VC_TIME_INF) must not wrap into an instant reset. */
static void test_huge_stop_timeout_no_wrap(void **state)
{
	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init_timeouts(&h, "rr", 0, VC_TIME_INF), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	assert_int_equal(mock_dom_init(&h, &d2, 2, NULL, 0), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "1ms"), 0);
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2)); /* stop accepted at 1 ms */
	assert_int_equal(vstats(&d1).resets, 0);
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_vtime_advance(MS(1));
	assert_true(vstats(&d2).loaded);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 1);
	assert_int_equal(vstats(&d1).resets, 0);
}

/*
 * Stalled time belongs to the work that stalled: once the context has no
 * work (here its driver dropped it), new work starts with a clean slate.
 */
static void test_stall_not_carried_across_sleep(void **state)
{
	struct mock_ctx *x;

	(void)state;
	mock_host_fini(&h);
	assert_int_equal(mock_host_init(&h, "rr", MS(100)), 0);
	assert_int_equal(mock_dom_init(&h, &d1, 1, NULL, 0), 0);
	mock_submit(&d1, 1, VC_SEC(10), false); /* a long job, no progress yet */
	vc_vtime_advance(MS(80));
	assert_int_equal(vstats(&d1).resets, 0);
	/* The guest aborts its work; the device reports the context idle. */
	x = mock_ctx_of(&d1);
	vc_os_timer_disarm(h.dev->timer);
	h.dev->in_job = false;
	x->queued = 0;
	vc_coproc_event(h.c, x->tag, VC_EV_IDLE);
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SLEEPING);
	/* New work of 50 ms completes; it is not a hang. */
	mock_submit(&d1, 1, MS(50), false);
	vc_vtime_advance(MS(60));
	assert_int_equal(vstats(&d1).resets, 0);
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 1);
}

/* Destroying a vcoproc whose stop is being refused ends the refusal wait. */
static void test_destroy_during_refusal_counts_wait(void **state)
{
	(void)state;
	mock_submit(&d1, 100, MS(5), true);
	mock_submit(&d2, 10, MS(1), false);
	vc_vtime_advance(MS(3)); /* refused at 1 ms, retry at 5 ms */
	assert_int_equal(cstats().refusals, 1);
	vc_domain_destroy(d1.d);
	assert_int_equal(cstats().refusal_wait_ns, MS(2));
	assert_true(vstats(&d2).loaded);
}

/*
 * The vcoproc a stop was for goes away while the stop is under way: curr
 * goes on when the stop completes, and if the stop coincided with the end
 * of its work it is idle - not charged on, and not taken for hung later.
 */
static void test_destroy_pending_while_stopping(void **state)
{
	struct vc_vcoproc_stats s;

	(void)state;
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2)); /* stop accepted at 1 ms, for d2 */
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_domain_destroy(d2.d);
	vc_vtime_advance(MS(1)); /* d1's job and the stop end at 3 ms */
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 1);
	s = vstats(&d1);
	assert_int_equal(s.state, VC_VS_SLEEPING);
	assert_int_equal(s.run_ns, MS(3));
	vc_vtime_advance(VC_SEC(2));
	s = vstats(&d1);
	assert_int_equal(s.run_ns, MS(3));
	assert_int_equal(s.resets, 0);
	assert_int_equal(d1.irqs, 0);
	/* It takes new work as usual. */
	mock_submit(&d1, 2, MS(1), false);
	vc_vtime_advance(MS(5));
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 3);
}

/* The vcoproc being stopped is destroyed: the one the stop was for runs. */
static void test_destroy_curr_while_stopping(void **state)
{
	(void)state;
	mock_submit(&d1, 10, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_domain_destroy(d1.d);
	assert_true(vstats(&d2).loaded);
	assert_int_equal(cstats().nr_vcoprocs, 1);
	vc_vtime_advance(MS(10));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 5);
	assert_int_equal(cstats().resets, 0);
}

/* ---- control ----------------------------------------------------------------------- */

static void test_runtime_algo_switch_keeps_work(void **state)
{
	(void)state;
	mock_submit(&d1, 100, MS(1), false);
	mock_submit(&d2, 100, MS(1), false);
	vc_vtime_advance(MS(50));
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_string_equal(vc_coproc_sched_name(h.c), "credit");
	assert_int_equal(vc_coproc_sched_set(h.c, "no-such"), -VC_ENOENT);
	assert_string_equal(vc_coproc_sched_name(h.c), "credit");
	vc_vtime_advance(MS(40));
	assert_int_equal(vc_coproc_sched_set(h.c, "rr"), 0);
	vc_vtime_advance(MS(200));
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 100);
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 100);
	assert_int_equal(vstats(&d1).run_ns + vstats(&d2).run_ns, MS(200));
}

/* An algorithm change while a stop is under way keeps the switch going. */
static void test_algo_switch_while_stopping(void **state)
{
	(void)state;
	mock_submit(&d1, 1, MS(3), false);
	mock_submit(&d2, 5, MS(1), false);
	vc_vtime_advance(MS(2));
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SWITCHING_OUT);
	vc_vtime_advance(MS(1));
	assert_true(vstats(&d2).loaded);
	assert_int_equal(vc_vcoproc_state(d1.v), VC_VS_SLEEPING);
	vc_vtime_advance(MS(10));
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 5);
	assert_int_equal(vstats(&d1).run_ns + vstats(&d2).run_ns, MS(8));
	assert_int_equal(cstats().resets, 0);
}

static bool has_param(const struct vc_param *p, unsigned int n, const char *key,
		      const char *val)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(p[i].key, key))
			return !val || !strcmp(p[i].val, val);
	return false;
}

static void test_params(void **state)
{
	struct vc_param p[16];
	unsigned int n;

	(void)state;
	n = vc_coproc_params(h.c, p, 16);
	assert_true(n >= 1 && n <= 16);
	assert_true(has_param(p, n, "slice", NULL));
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "bogus"), -VC_EINVAL);
	assert_int_equal(vc_coproc_param_set(h.c, "nosuchkey", "1"), -VC_ENOENT);
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_int_equal(vc_vcoproc_param_set(d1.v, "weight", "512"), 0);
	assert_int_equal(vc_vcoproc_param_set(d1.v, "weight", "zero"), -VC_EINVAL);
	n = vc_vcoproc_params(d1.v, p, 16);
	assert_true(has_param(p, n, "weight", "512"));
	/* The failed set did not replace the kept value. */
	assert_string_equal(vc_vcoproc_param(d1.v, "weight"), "512");
	/* Kept across an algorithm change and back. */
	assert_int_equal(vc_coproc_sched_set(h.c, "rr"), 0);
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	n = vc_vcoproc_params(d1.v, p, 16);
	assert_true(has_param(p, n, "weight", "512"));
}

/*
 * Instance parameters are remembered per algorithm: a round trip through
 * other algorithms gives an algorithm back what it was given; a refused
 * value is not remembered; an algorithm not seen before starts at its
 * defaults.
 */
static void test_instance_params_survive_round_trip(void **state)
{
	struct vc_param p[16];
	unsigned int n;

	(void)state;
	if (!vc_sched_lookup("credit"))
		skip();
	mock_submit(&d1, 1000, MS(1), false);
	mock_submit(&d2, 1000, MS(1), false);
	n = vc_coproc_params(h.c, p, 16);
	assert_true(has_param(p, n, "slice", "1ms")); /* rr's, from setup_rr */
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	n = vc_coproc_params(h.c, p, 16);
	assert_true(has_param(p, n, "slice", "10ms")); /* credit's default */
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "3ms"), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "ratelimit", "500us"), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "4ms"), 0);
	assert_int_equal(vc_coproc_param_set(h.c, "slice", "bogus"), -VC_EINVAL);
	vc_vtime_advance(MS(5));

	assert_int_equal(vc_coproc_sched_set(h.c, "rr"), 0);
	n = vc_coproc_params(h.c, p, 16);
	assert_true(has_param(p, n, "slice", "1ms"));
	vc_vtime_advance(MS(5));
	if (vc_sched_lookup("rtds")) {
		assert_int_equal(vc_coproc_sched_set(h.c, "rtds"), 0);
		vc_vtime_advance(MS(5));
	}
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	n = vc_coproc_params(h.c, p, 16);
	assert_true(has_param(p, n, "slice", "4ms"));
	assert_true(has_param(p, n, "ratelimit", "500us"));
	assert_int_equal(vc_coproc_sched_set(h.c, "rr"), 0);
	n = vc_coproc_params(h.c, p, 16);
	assert_true(has_param(p, n, "slice", "1ms"));
	/* The work went on throughout. */
	vc_vtime_advance(MS(3000));
	assert_int_equal(mock_reg_read(&d1, MOCK_REG_DONE), 1000);
	assert_int_equal(mock_reg_read(&d2, MOCK_REG_DONE), 1000);
}

static void test_weights_shift_shares(void **state)
{
	struct vc_vcoproc_stats a0, b0, a1, b1;

	(void)state;
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	mock_submit(&d1, 100000, VC_USEC(100), false);
	mock_submit(&d2, 100000, VC_USEC(100), false);
	vc_vtime_advance(VC_SEC(1));
	a0 = vstats(&d1);
	b0 = vstats(&d2);
	assert_true(a0.run_ns > MS(480) && a0.run_ns < MS(520));
	assert_int_equal(vc_vcoproc_param_set(d2.v, "weight", "768"), 0);
	vc_vtime_advance(VC_SEC(2));
	a1 = vstats(&d1);
	b1 = vstats(&d2);
	/* 1:3 from the change on. */
	assert_true((b1.run_ns - b0.run_ns) > MS(1450));
	assert_true((a1.run_ns - a0.run_ns) < MS(550));
}

/* ---- expected shares ------------------------------------------------------------- */

static struct vc_share share_of(struct mock_dom *md)
{
	struct vc_share sh;

	assert_int_equal(vc_vcoproc_expected_share(md->v, &sh), 0);
	return sh;
}

/* What each algorithm promises, after parameter and algorithm changes. */
static void test_expected_shares(void **state)
{
	struct vc_vcoproc *vs[4];
	struct vc_share sh[4];

	(void)state;
	/* rr: equal. */
	assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 2);
	assert_int_equal(share_of(&d2).run_ppb, VC_SHARE_ONE / 2);
	/* credit, weight 256 -> 768 live: 1/4 and 3/4. */
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_int_equal(share_of(&d2).run_ppb, VC_SHARE_ONE / 2);
	assert_int_equal(vc_vcoproc_param_set(d2.v, "weight", "768"), 0);
	assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 4);
	assert_int_equal(share_of(&d2).device_ppb, VC_SHARE_ONE / 4 * 3);
	assert_int_equal(share_of(&d2).run_ppb, VC_SHARE_ONE / 4 * 3);
	/* All at one instant, in creation order. */
	assert_int_equal(vc_coproc_expected_shares(h.c, vs, sh, 4), 2);
	assert_ptr_equal(vs[0], d1.v);
	assert_ptr_equal(vs[1], d2.v);
	assert_int_equal(sh[0].run_ppb, VC_SHARE_ONE / 4);
	assert_int_equal(sh[1].device_ppb, VC_SHARE_ONE / 4 * 3);
	assert_int_equal(vc_coproc_expected_shares(h.c, vs, sh, 1), 2); /* room for one */
	assert_ptr_equal(vs[0], d1.v);
	/* Back to rr: the weight is kept for later but rr ignores it. */
	assert_int_equal(vc_coproc_sched_set(h.c, "rr"), 0);
	assert_int_equal(share_of(&d2).device_ppb, VC_SHARE_ONE / 2);
	if (vc_sched_lookup("rtds")) {
		/* rtds: budget / period of the device; run shares over their sum. */
		assert_int_equal(vc_coproc_sched_set(h.c, "rtds"), 0);
		assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 10 * 4); /* 4ms/10ms */
		assert_int_equal(vc_vcoproc_param_set(d1.v, "budget", "1ms"), 0);
		assert_int_equal(vc_vcoproc_param_set(d2.v, "budget", "3ms"), 0);
		assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 10);
		assert_int_equal(share_of(&d2).device_ppb, VC_SHARE_ONE / 10 * 3);
		assert_int_equal(share_of(&d1).run_ppb, VC_SHARE_ONE / 4);
		assert_int_equal(share_of(&d2).run_ppb, VC_SHARE_ONE / 4 * 3);
	}
	if (vc_sched_lookup("arinc653")) {
		/* arinc653: windows over the frame; idle time is nobody's. */
		assert_int_equal(vc_coproc_sched_set(h.c, "arinc653"), 0);
		assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 2); /* auto */
		assert_int_equal(vc_coproc_param_set(h.c, "frame", "d1:2,idle:4,2:2"), 0);
		assert_int_equal(share_of(&d1).device_ppb, VC_SHARE_ONE / 4);
		assert_int_equal(share_of(&d1).run_ppb, VC_SHARE_ONE / 2);
		assert_int_equal(vc_coproc_param_set(h.c, "frame", "d1:2,idle:4"), 0);
		assert_int_equal(share_of(&d2).device_ppb, 0);
		assert_int_equal(share_of(&d2).run_ppb, 0);
		assert_int_equal(share_of(&d1).run_ppb, VC_SHARE_ONE);
		vc_domain_destroy(d1.d);
		assert_int_equal(share_of(&d2).run_ppb, 0); /* nobody has a window */
	}
}

/* The promise is kept: measured shares of busy vcoprocs match it. */
static void test_expected_matches_measured(void **state)
{
	struct vc_vcoproc_stats a0, b0, a1, b1;
	vc_time_t ra, rb;
	double diff;

	(void)state;
	assert_int_equal(vc_coproc_sched_set(h.c, "credit"), 0);
	assert_int_equal(vc_vcoproc_param_set(d2.v, "weight", "768"), 0);
	mock_submit(&d1, 100000, VC_USEC(100), false);
	mock_submit(&d2, 100000, VC_USEC(100), false);
	vc_vtime_advance(VC_MSEC(100));
	a0 = vstats(&d1);
	b0 = vstats(&d2);
	vc_vtime_advance(VC_SEC(2));
	a1 = vstats(&d1);
	b1 = vstats(&d2);
	ra = a1.run_ns - a0.run_ns;
	rb = b1.run_ns - b0.run_ns;
	diff = (double)ra / (double)(ra + rb) - (double)share_of(&d1).run_ppb / VC_SHARE_ONE;
	assert_true(diff < 0.01 && diff > -0.01);
}

/* ---- MMIO errors, stats, trace ------------------------------------------------------ */

static void test_mmio_errors(void **state)
{
	uint64_t val = 0;

	(void)state;
	assert_int_equal(vc_domain_mmio(d1.d, 0x1000, 8, false, &val), -VC_ENOENT);
	assert_int_equal(val, ~0ULL);
	val = 0;
	assert_int_equal(vc_domain_mmio(d1.d, MOCK_MMIO_BASE, 3, false, &val), -VC_EINVAL);
	assert_int_equal(val, ~0ULL);
	val = 0;
	assert_int_equal(vc_domain_mmio(d1.d, MOCK_MMIO_BASE + 0x800, 8, false, &val),
			 -VC_EINVAL);
	assert_int_equal(val, ~0ULL);
	/* An access straddling the end of the window matches no window. */
	assert_int_equal(vc_domain_mmio(d1.d, MOCK_MMIO_BASE + MOCK_MMIO_SIZE - 4, 8,
					false, &val), -VC_ENOENT);
}

struct membuf {
	char *buf;
	size_t len, cap;
};

static int membuf_write(void *opaque, const char *s, size_t n)
{
	struct membuf *m = opaque;

	if (m->len + n + 1 > m->cap) {
		m->cap = (m->len + n + 1) * 2;
		m->buf = realloc(m->buf, m->cap);
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = 0;
	return 0;
}

static unsigned int count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_trace_export(void **state)
{
	struct membuf mb = { 0 };
	struct vc_printer p = { .write = membuf_write, .opaque = &mb };
	size_t whole;

	(void)state;
	assert_int_equal(vc_coproc_trace_enable(h.c, true, 1024), 0);
	mock_submit(&d1, 3, MS(5), true);
	mock_submit(&d2, 20, MS(1), false);
	vc_vtime_advance(MS(40));
	assert_int_equal(vc_coproc_trace_export(h.c, &p), 0);
	assert_non_null(mb.buf);
	assert_non_null(strstr(mb.buf, "\"traceEvents\":["));
	assert_int_equal(count(mb.buf, "\"ph\":\"B\""), count(mb.buf, "\"ph\":\"E\""));
	assert_true(count(mb.buf, "\"ph\":\"B\"") >= 2);
	assert_true(count(mb.buf, "\"name\":\"refused\"") >= 1);
	assert_true(count(mb.buf, "\"name\":\"switch\"") >= 2);
	assert_non_null(strstr(mb.buf, "domain d1"));
	assert_string_equal(mb.buf + mb.len - 3, "]}\n");

	/* Bounded: longer than the limit is refused, and nothing is written. */
	whole = mb.len;
	free(mb.buf);
	memset(&mb, 0, sizeof(mb));
	assert_int_equal(vc_coproc_trace_export_max(h.c, &p, whole / 2), -VC_E2BIG);
	assert_null(mb.buf);
	assert_int_equal(vc_coproc_trace_export_max(h.c, &p, whole), 0);
	assert_int_equal(mb.len, whole);
	free(mb.buf);
}

/* Names come from configuration files: the trace escapes them. */
static void test_trace_escapes_names(void **state)
{
	struct membuf mb = { 0 };
	struct vc_printer p = { .write = membuf_write, .opaque = &mb };
	struct vc_domain *d;
	struct vc_vcoproc *v;

	(void)state;
	assert_int_equal(vc_domain_create(h.fw, 5, "a\"b\\c\n", NULL, NULL, &d), 0);
	assert_int_equal(vc_vcoproc_create(d, h.c, NULL, 0, &v, NULL), 0);
	assert_int_equal(vc_coproc_trace_enable(h.c, true, 16), 0);
	assert_int_equal(vc_coproc_trace_export(h.c, &p), 0);
	assert_non_null(strstr(mb.buf, "(domain a\\\"b\\\\c\\u000a)"));
	free(mb.buf);
}

static void test_coproc_stats(void **state)
{
	struct vc_coproc_stats s;

	(void)state;
	mock_submit(&d1, 10, MS(1), false);
	mock_submit(&d2, 10, MS(1), false);
	vc_vtime_advance(MS(30));
	s = cstats();
	assert_int_equal(s.uptime_ns, MS(30));
	assert_int_equal(s.busy_ns, MS(20));
	assert_true(s.decisions >= s.switches);
	assert_true(s.switches >= 10);
	assert_int_equal(s.mmio_emulated + s.mmio_forwarded, 2);
	assert_int_equal(s.nr_vcoprocs, 2);
}

/* ---- lock assertions -------------------------------------------------------- */

#ifndef NDEBUG /* assertions are compiled out with NDEBUG */
static void reschedule_unlocked(void *arg)
{
	vc_coproc_reschedule(arg, vc_os_now());
}

static void reschedule_locked(void *arg)
{
	struct vc_coproc *c = arg;

	vc_os_lock(c->lock);
	vc_coproc_reschedule(c, vc_os_now());
	vc_os_unlock(c->lock);
}

/*
 * A function documented "c->lock held" called without it stops at its
 * assertion (debug builds); called with the lock it runs.
 */
static void test_lock_assertion_fires(void **state)
{
	char out[512];

	(void)state;
	mock_submit(&d1, 3, MS(1), false);
	assert_int_equal(death_run(reschedule_unlocked, h.c, out, sizeof(out)), SIGABRT);
	assert_non_null(strstr(out, "assertion failed: vc_os_lock_held(c->lock)"));
	assert_int_equal(death_run(reschedule_locked, h.c, out, sizeof(out)), 0);
	assert_null(strstr(out, "assertion failed"));
}
#endif

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_rr, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_destroy),
		T(test_domain_lookup),
		T(test_create_platform_failure_undone),
		T(test_create_names_refused_value),
		T(test_create_bad_params),
		T(test_create_unknown_key),
		T(test_bad_desc_rejected),
		T(test_single_domain_runs),
		T(test_two_domains_share),
		T(test_idle_yields_early),
		T(test_refused_switch_retried_after_hint),
		T(test_stop_in_progress),
		T(test_completion_racing_switch_reaches_owner),
		T(test_late_completion_reaches_owner_not_loaded),
		T(test_stale_event_dropped),
		T(test_hang_reset_others_continue),
		T(test_stop_timeout_resets),
		T(test_wake_during_stop_no_stale_switch),
		T(test_starved_device_not_hung),
		T(test_starved_device_progress_not_hung),
		T(test_passthrough_register),
		T(test_passthrough_owner),
		T(test_passthrough_owner_goes),
		T(test_starved_device_stop_waits),
		T(test_endless_refusal_resets),
		T(test_destroy_running_domain),
		T(test_save_failure_resets_only_prev),
		T(test_stop_timeout_spares_stopped_context),
		T(test_huge_stop_timeout_no_wrap),
		T(test_stall_not_carried_across_sleep),
		T(test_destroy_during_refusal_counts_wait),
		T(test_destroy_pending_while_stopping),
		T(test_destroy_curr_while_stopping),
		T(test_runtime_algo_switch_keeps_work),
		T(test_algo_switch_while_stopping),
		T(test_params),
		T(test_instance_params_survive_round_trip),
		T(test_weights_shift_shares),
		T(test_expected_shares),
		T(test_expected_matches_measured),
		T(test_mmio_errors),
		T(test_trace_export),
		T(test_trace_escapes_names),
		T(test_coproc_stats),
#ifndef NDEBUG
		T(test_lock_assertion_fires),
#endif
	};

	if (!vc_sched_lookup("rr") || !vc_sched_lookup("credit")) {
		printf("1..0 # SKIP built without rr or credit, which these tests drive\n");
		return 0;
	}
	return cmocka_run_group_tests_name("framework", tests, NULL, NULL);
}
