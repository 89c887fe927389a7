// SPDX-License-Identifier: MIT
/*
 * rr on the mock device: equal turns in wake order, sleepers skipped, the
 * intended next kept across a refusal, parameters.
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
	h_init(&h, &vc_sched_rr_ops, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

static void test_equal_shares(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_run(&h, MS(300));
	/* 30 turns of 10 ms: exactly 10 each. */
	assert_int_equal(a->run_ns, MS(100));
	assert_int_equal(b->run_ns, MS(100));
	assert_int_equal(c->run_ns, MS(100));
	assert_int_equal(h.idle_ns, 0);
}

static void test_wake_order(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_wake(&h, a, H_FOREVER);
	h_run(&h, MS(60));
	assert_int_equal(h_running_at(&h, MS(5)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(15)), (int)c->idx);
	assert_int_equal(h_running_at(&h, MS(25)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(35)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(45)), (int)c->idx);
	assert_int_equal(h_running_at(&h, MS(55)), (int)a->idx);
}

static void test_sleepers_skipped(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_run(&h, MS(5));
	h_sleep(&h, b);
	h_run(&h, MS(95)); /* a to 10 ms, then c and a alternate */
	assert_int_equal(b->run_ns, 0);
	assert_int_equal(a->run_ns + c->run_ns, MS(100));
	assert_int_equal(h.idle_ns, 0);
	/* b wakes and joins at the tail: after the current turn and the next. */
	h_wake(&h, b, H_FOREVER);
	assert_int_equal(b->run_ns, 0);
	h_run(&h, MS(30));
	assert_int_equal(b->run_ns, MS(10));
}

static void test_short_work_gives_way_at_once(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	h_wake(&h, a, MS(3));
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(20));
	assert_int_equal(a->run_ns, MS(3));
	assert_int_equal(b->run_ns, MS(17)); /* no idle gap after a's 3 ms */
	assert_false(a->awake);
}

/* Refuse exactly one stop: the first one at 10 ms, for 2 ms. */
static vc_time_t refuse_first(struct harness *hh, struct h_vc *prev, struct h_vc *next)
{
	(void)prev;
	(void)next;
	return hh->refusals == 0 ? MS(2) : 0;
}

static void test_refusal_keeps_order(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	h.refuse = refuse_first;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_run(&h, MS(42));
	assert_int_equal(h.refusals, 1);
	/* a overran to 12 ms; then b (the intended next), a full turn, then c. */
	assert_int_equal(h_running_at(&h, MS(11)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(12)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(21)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(22)), (int)c->idx);
	/* a's next turn is 2 ms short: the overrun is taken back. */
	assert_int_equal(h_running_at(&h, MS(32)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(40)), (int)b->idx);
	assert_int_equal(a->run_ns, MS(20));
}

static void test_shares_equal_under_refusals(void **state)
{
	struct h_vc *x[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		x[i] = h_add_ok(&h, (uint32_t)i + 1, "d", NULL);
		h_wake(&h, x[i], H_FOREVER);
	}
	h.refuse_pct = 30;
	h.refuse_max = MS(3);
	h_run(&h, VC_SEC(10));
	assert_true(h.refusals > 100);
	for (int i = 0; i < 4; i++) {
		assert_true(x[i]->run_ns > VC_SEC(10) / 4 - MS(20));
		assert_true(x[i]->run_ns < VC_SEC(10) / 4 + MS(20));
	}
}

static void test_params(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);

	(void)state;
	assert_int_equal(h_nparams(&h, NULL), 1);
	assert_int_equal(h_nparams(&h, a), 0);
	assert_string_equal(h_get(&h, NULL, "slice"), "10ms");
	assert_int_equal(h_set(&h, NULL, "slice", "5"), 0); /* bare: ms */
	assert_string_equal(h_get(&h, NULL, "slice"), "5ms");
	assert_int_equal(h_set(&h, NULL, "slice", "2500us"), 0);
	assert_string_equal(h_get(&h, NULL, "slice"), "2500us");
	assert_int_equal(h_set(&h, NULL, "slice", "1s"), 0);
	assert_string_equal(h_get(&h, NULL, "slice"), "1s");
	assert_int_equal(h_set(&h, NULL, "slice", "99us"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "slice", "11s"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "slice", "10 ms"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "slice", "10xs"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "slice", ""), -VC_EINVAL);
	assert_string_equal(h_get(&h, NULL, "slice"), "1s");
	assert_int_equal(h_set(&h, NULL, "quantum", "5ms"), -VC_ENOENT);
	assert_int_equal(h_set(&h, a, "slice", "5ms"), -VC_ENOENT);
	assert_int_equal(h_set(&h, a, "weight", "5"), -VC_ENOENT);
}

static void test_slice_change_applies(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	assert_int_equal(h_set(&h, NULL, "slice", "1ms"), 0);
	h_run(&h, MS(10));
	assert_int_equal(h.switches, 10);
	assert_int_equal(a->run_ns, MS(5));
	assert_non_null(strstr(h_dump(&h), "slice 1ms"));
}

/* Expected shares: 1/n for every vcoproc admitted, as they come and go. */
static void test_expected_share(void **state)
{
	struct h_vc *a, *b, *c;

	(void)state;
	a = h_add_ok(&h, 1, "a", NULL);
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE);
	b = h_add_ok(&h, 2, "b", NULL);
	c = h_add_ok(&h, 3, "c", NULL);
	assert_int_equal(h_share(&h, a), 333333333);
	assert_int_equal(h_share(&h, c), 333333333);
	h_remove(&h, b);
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE / 2);
	assert_int_equal(h_share(&h, c), VC_SHARE_ONE / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal_shares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleepers_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_work_gives_way_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shares_equal_under_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slice_change_applies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_share, setup, teardown),
	};

	return cmocka_run_group_tests_name("sched-rr", tests, NULL, NULL);
}
