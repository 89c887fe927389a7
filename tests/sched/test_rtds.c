// SPDX-License-Identifier: MIT
/*
 * rtds on the mock device: guarantees of an admitted set (also with
 * refusals and switch costs within the admitted bounds), admission control,
 * EDF order, budget enforcement and replenishment, overrun carry, deadline
 * misses, the wake-up rule, parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static struct harness h;

static int setup(void **state)
{
	(void)state;
	h_init(&h, &vc_sched_rtds_ops, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

/* Restart with a coprocessor of the given worst cases. */
static void reinit(vc_time_t switch_cost, vc_time_t max_nonpreempt)
{
	h_fini(&h);
	h_init(&h, &vc_sched_rtds_ops, switch_cost, max_nonpreempt);
}

static uint64_t misses(const struct h_vc *x)
{
	return x->v.stats.deadline_misses;
}

static void test_admitted_90_percent_no_misses(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=2ms", "period=5ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=3ms", "period=10ms", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", "budget=4ms", "period=20ms", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_run(&h, VC_SEC(2));
	assert_int_equal(misses(a) + misses(b) + misses(c), 0);
	/* Exactly its budget every period, and the device idles 10%. */
	assert_int_equal(a->run_ns, VC_SEC(2) / 5 * 2);
	assert_int_equal(b->run_ns, VC_SEC(2) / 10 * 3);
	assert_int_equal(c->run_ns, VC_SEC(2) / 20 * 4);
	assert_int_equal(h.idle_ns, MS(200));
}

/* Within the admitted worst cases: refusals up to B, stops taking S. */
static void test_admitted_set_survives_blocking(void **state)
{
	struct h_vc *x[3];

	(void)state;
	reinit(US(50), US(500));
	/* (1 + 0.6)/5 + (2 + 0.6)/10 + (3 + 0.6)/20 + 0.55/5 = 0.87 */
	x[0] = h_add_ok(&h, 1, "a", "budget=1ms", "period=5ms", NULL);
	x[1] = h_add_ok(&h, 2, "b", "budget=2ms", "period=10ms", NULL);
	x[2] = h_add_ok(&h, 3, "c", "budget=3ms", "period=20ms", NULL);
	for (int i = 0; i < 3; i++)
		h_wake(&h, x[i], H_FOREVER);
	h.refuse_pct = 50;
	h.refuse_max = US(500);
	h.switch_time = US(50);
	h_run(&h, VC_SEC(5));
	assert_true(h.refusals > 500);
	for (int i = 0; i < 3; i++)
		assert_int_equal(misses(x[i]), 0);
	/* Overruns were carried: long-run service is the budget rate. */
	assert_true(x[0]->run_ns <= VC_SEC(1) + MS(1));
	assert_true(x[0]->run_ns >= VC_SEC(1) - MS(1));
	assert_non_null(strstr(h_dump(&h), "overruns"));
}

static void test_admission_rejects_overload(void **state)
{
	struct h_vc *x;

	(void)state;
	h_add_ok(&h, 1, "a", "budget=5ms", "period=10ms", NULL);
	h_add_ok(&h, 2, "b", "budget=4ms", "period=10ms", NULL);
	assert_int_equal(h_add(&h, &x, 3, "c", "budget=2ms", "period=10ms", NULL),
			 -VC_ENOSPC);
	/* Exactly full is fine. */
	assert_int_equal(h_add(&h, &x, 3, "c", "budget=1ms", "period=10ms", NULL), 0);
	assert_int_equal(h_add(&h, &x, 4, "d", "budget=10us", "period=4s", NULL),
			 -VC_ENOSPC);
}

static void test_admission_counts_switch_and_blocking(void **state)
{
	struct h_vc *x;

	(void)state;
	/* 80% of budgets alone is fine on an ideal device... */
	h_add_ok(&h, 1, "a", "budget=4ms", "period=10ms", NULL);
	h_add_ok(&h, 2, "b", "budget=4ms", "period=10ms", NULL);
	/* ... and with 1 ms non-preemptible sections: 0.4+0.4 + 1/10 <= 1, */
	reinit(0, MS(1));
	h_add_ok(&h, 1, "a", "budget=4ms", "period=10ms", NULL);
	x = h_add_ok(&h, 2, "b", "budget=4ms", "period=10ms", NULL);
	/* ... up to exactly full, 0.4+0.5+0.1, */
	assert_int_equal(h_set(&h, NULL, "admission", "on"), 0);
	assert_int_equal(h_set(&h, x, "budget", "5ms"), 0);
	assert_int_equal(h_set(&h, x, "budget", "5001us"), -VC_ENOSPC);
	/* ... but not isolated from overruns: + 2 * 1/10 > 1. */
	assert_int_equal(h_set(&h, NULL, "admission", "isolated"), -VC_ENOSPC);
	assert_string_equal(h_get(&h, NULL, "admission"), "on");
	assert_int_equal(h_set(&h, x, "budget", "3ms"), 0);
	assert_int_equal(h_set(&h, NULL, "admission", "isolated"), 0);
	assert_string_equal(h_get(&h, NULL, "admission"), "isolated");
	assert_int_equal(h_set(&h, x, "budget", "3001us"), -VC_ENOSPC);
	/* Nor with a 500 us switch: (4 + 1)/10 * 2 + 0.05 > 1. */
	reinit(US(500), 0);
	h_add_ok(&h, 1, "a", "budget=4ms", "period=10ms", NULL);
	assert_int_equal(h_add(&h, &x, 2, "b", "budget=4ms", "period=10ms", NULL),
			 -VC_ENOSPC);
	/* A switch alone longer than a period can never work. */
	reinit(MS(20), 0);
	assert_int_equal(h_add(&h, &x, 1, "a", "budget=1ms", "period=10ms", NULL),
			 -VC_ENOSPC);
}

static void test_edf_order(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=2ms", "period=20ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=2ms", "period=5ms", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", "budget=2ms", "period=10ms", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(20));
	/* Deadlines 5 (b), 10 (c), 20 (a); b again at 5 with deadline 10. */
	assert_int_equal(h_running_at(&h, MS(1)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(3)), (int)c->idx);
	assert_int_equal(h_running_at(&h, MS(4) + US(500)), (int)a->idx);
	/* At 5 b is released with deadline 10 < 20: it preempts a at once. */
	assert_int_equal(h_running_at(&h, MS(5) + US(1)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(7) + US(500)), (int)a->idx);
}

static void test_budget_enforced_and_replenished(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=3ms", "period=10ms", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_run(&h, MS(35));
	/* Not work conserving: 3 ms per period, the device idles the rest. */
	assert_int_equal(a->run_ns, MS(9) + MS(3));
	assert_int_equal(h_running_at(&h, MS(2)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(5)), -1);
	assert_int_equal(h_running_at(&h, MS(10)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(13)), -1);
	assert_int_equal(misses(a), 0);
}

static void test_release_preempts_on_time(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=8ms", "period=20ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=1ms", "period=5ms", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(20));
	/* b at 0-1, a from 1; b's release at 5 (deadline 10 < 20) preempts. */
	assert_int_equal(h_running_at(&h, MS(5) - 1), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(5)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(6)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(10)), (int)b->idx);
	assert_int_equal(misses(a) + misses(b), 0);
}

/* Refuse one stop of a (at its budget exhaustion, 3 ms) for 1 ms. */
static vc_time_t refuse_a_once(struct harness *hh, struct h_vc *prev, struct h_vc *next)
{
	(void)next;
	return prev->idx == 0 && hh->refusals == 0 ? MS(1) : 0;
}

static void test_overrun_carried(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=3ms", "period=10ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=3ms", "period=20ms", NULL);

	(void)state;
	h.refuse = refuse_a_once;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(10));
	/* a ran 4 ms in its first period (1 ms over), b then got its 3 ms. */
	assert_int_equal(h.refusals, 1);
	assert_int_equal(a->run_ns, MS(4));
	assert_int_equal(b->run_ns, MS(3));
	h_run(&h, MS(10));
	/* ... and 1 ms less in its second. */
	assert_int_equal(a->run_ns, MS(6));
	assert_non_null(strstr(h_dump(&h), "overruns 1 (1ms, max 1ms)"));
	h_run(&h, MS(10));
	assert_int_equal(a->run_ns, MS(9));
	assert_int_equal(misses(a) + misses(b), 0);
}

static void test_miss_counted_when_starved(void **state)
{
	struct h_vc *a, *b;

	(void)state;
	assert_int_equal(h_set(&h, NULL, "admission", "off"), 0);
	a = h_add_ok(&h, 1, "a", "budget=6ms", "period=10ms", NULL);
	b = h_add_ok(&h, 2, "b", "budget=6ms", "period=10ms", NULL);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(100) + 1);
	/* 12 ms of demand in each 10 ms: b (the later on ties) misses each time. */
	assert_int_equal(misses(a), 0);
	assert_int_equal(misses(b), 10);
	assert_int_equal(b->run_ns, MS(40));
	/* Admission cannot be turned back on over an infeasible set. */
	assert_int_equal(h_set(&h, NULL, "admission", "on"), -VC_ENOSPC);
	assert_string_equal(h_get(&h, NULL, "admission"), "off");
}

static void test_wake_constant_bandwidth_rule(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=4ms", "period=10ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=4ms", "period=12ms", NULL);

	(void)state;
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, a, MS(1)); /* a: deadline 10, runs 1 ms, sleeps with 3 ms left */
	h_run(&h, MS(9));
	assert_false(a->awake);
	/* 3 ms left but only 1 ms to its deadline: a new period from now. */
	h_wake(&h, a, MS(4));
	h_run(&h, MS(4));
	assert_int_equal(a->run_ns, MS(5)); /* ran 9..13 unbroken: deadline 19 */
	assert_int_equal(misses(a), 0);
	/* Woken after its deadline: a new period (deadline 30), full budget. */
	h_run(&h, MS(7)); /* 20 */
	h_wake(&h, a, MS(1));
	h_run(&h, MS(2));
	assert_int_equal(a->run_ns, MS(6));
	/* Woken with bandwidth to spare (3 * 10 <= 8 * 4): keeps deadline 30. */
	h_wake(&h, a, MS(1));
	h_run(&h, MS(1));
	assert_int_equal(a->run_ns, MS(7));
	assert_non_null(strstr(h_dump(&h), "deadline 30000000 left 2000000ns"));
	assert_int_equal(misses(a), 0);
}

static void test_wake_reports_earlier_deadline(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=2ms", "period=20ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=1ms", "period=5ms", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", "budget=1ms", "period=50ms", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	assert_ptr_equal(h.curr, a);
	c->awake = true;
	assert_false(h.s.ops->wake(&h.s, &c->v, h.now)); /* deadline 50 > 20 */
	b->awake = true;
	assert_true(h.s.ops->wake(&h.s, &b->v, h.now)); /* deadline 5 < 20 */
	b->work = c->work = H_FOREVER;
	h_reschedule(&h);
	assert_ptr_equal(h.curr, b);
}

static void test_set_param_admission(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "budget=5ms", "period=10ms", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "budget=4ms", "period=10ms", NULL);

	(void)state;
	assert_int_equal(h_set(&h, b, "budget", "6ms"), -VC_ENOSPC);
	assert_int_equal(h_set(&h, b, "period", "7ms"), -VC_ENOSPC);
	assert_string_equal(h_get(&h, b, "budget"), "4ms");
	assert_string_equal(h_get(&h, b, "period"), "10ms");
	assert_int_equal(h_set(&h, b, "budget", "5ms"), 0);
	assert_string_equal(h_get(&h, b, "budget"), "5ms");
	/* Made room: a shrinks, then b can grow. */
	assert_int_equal(h_set(&h, a, "period", "20ms"), 0);
	assert_int_equal(h_set(&h, b, "budget", "7500us"), 0);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(200));
	assert_int_equal(misses(a) + misses(b), 0);
	assert_int_equal(b->run_ns, MS(150));
}

static void test_params(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *x;

	(void)state;
	assert_int_equal(h_nparams(&h, NULL), 1);
	assert_int_equal(h_nparams(&h, a), 2);
	assert_string_equal(h_get(&h, NULL, "admission"), "on");
	assert_string_equal(h_get(&h, a, "budget"), "4ms");
	assert_string_equal(h_get(&h, a, "period"), "10ms");
	assert_int_equal(h_set(&h, a, "period", "20000"), 0); /* bare: us */
	assert_string_equal(h_get(&h, a, "period"), "20ms");
	assert_int_equal(h_set(&h, a, "budget", "1500"), 0);
	assert_string_equal(h_get(&h, a, "budget"), "1500us");
	assert_int_equal(h_set(&h, a, "budget", "1s"), -VC_EINVAL); /* > period */
	assert_int_equal(h_set(&h, a, "budget", "5us"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "period", "50us"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "period", "5s"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "period", "1ms"), -VC_EINVAL); /* < budget */
	assert_int_equal(h_set(&h, a, "period", "ten"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "weight", "3"), -VC_ENOENT);
	assert_int_equal(h_set(&h, NULL, "budget", "3ms"), -VC_ENOENT);
	assert_int_equal(h_set(&h, NULL, "admission", "perhaps"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "admission", "off"), 0);
	assert_string_equal(h_get(&h, NULL, "admission"), "off");
	assert_int_equal(h_set(&h, NULL, "admission", "on"), 0);
	/* Creation-time values. */
	assert_int_equal(h_add(&h, &x, 2, "b", "budget=11ms", NULL), -VC_EINVAL);
	assert_int_equal(h_add(&h, &x, 2, "b", "period=1x", NULL), -VC_EINVAL);
	assert_int_equal(h_add(&h, &x, 2, "b", "budget=2", "period=3", NULL),
			 -VC_EINVAL); /* 3 us: below the shortest period */
	assert_int_equal(h_add(&h, &x, 2, "b", "budget=500", "period=1000", "weight=9",
			       NULL), 0);
	assert_string_equal(h_get(&h, x, "budget"), "500us");
	assert_string_equal(h_get(&h, x, "period"), "1ms");
}

/* Expected shares: budget over period, following live changes. */
static void test_expected_share(void **state)
{
	struct h_vc *a, *b;

	(void)state;
	a = h_add_ok(&h, 1, "a", "budget=3ms", "period=10ms", NULL);
	b = h_add_ok(&h, 2, "b", NULL); /* defaults: 4ms / 10ms */
	assert_int_equal(h_share(&h, a), 300000000);
	assert_int_equal(h_share(&h, b), 400000000);
	assert_int_equal(h_set(&h, a, "period", "20ms"), 0);
	assert_int_equal(h_share(&h, a), 150000000);
	assert_int_equal(h_set(&h, b, "budget", "2.5ms"), 0);
	assert_int_equal(h_share(&h, b), 250000000);
	assert_int_equal(h_set(&h, b, "budget", "1ms"), 0);
	assert_int_equal(h_set(&h, b, "period", "3ms"), 0);
	assert_int_equal(h_share(&h, b), 333333333);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admitted_90_percent_no_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admitted_set_survives_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admission_rejects_overload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admission_counts_switch_and_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edf_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_enforced_and_replenished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_preempts_on_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun_carried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_miss_counted_when_starved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_constant_bandwidth_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_reports_earlier_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_param_admission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_share, setup, teardown),
	};

	return cmocka_run_group_tests_name("sched-rtds", tests, NULL, NULL);
}
