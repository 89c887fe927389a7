// SPDX-License-Identifier: MIT
/*
 * credit on the mock device: shares that converge to the weights (also
 * under refusals and slow stops), run-time weight changes, caps, sleepers
 * that cannot bank credit, wake-up preemption and ratelimit, parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static struct harness h;

static int setup(void **state)
{
	(void)state;
	h_init(&h, &vc_sched_credit_ops, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

/* |@got - @want| <= @pct percent of @want. */
static void assert_within(vc_time_t got, vc_time_t want, double pct)
{
	double err = ((double)got - (double)want) / (double)want * 100.0;

	if (err > pct || err < -pct)
		fail_msg("got %llu, want %llu: off by %.3f%% (limit %.2f%%)",
			 (unsigned long long)got, (unsigned long long)want, err, pct);
}

/* Weights 1:2:4 for 10 s; shares within 1% of 1/7, 2/7, 4/7 of the busy time. */
static void run_124(void)
{
	struct h_vc *x[3];
	vc_time_t busy;

	x[0] = h_add_ok(&h, 1, "w1", "weight=1", NULL);
	x[1] = h_add_ok(&h, 2, "w2", "weight=2", NULL);
	x[2] = h_add_ok(&h, 3, "w4", "weight=4", NULL);
	for (int i = 0; i < 3; i++)
		h_wake(&h, x[i], H_FOREVER);
	h_run(&h, VC_SEC(10));
	busy = x[0]->run_ns + x[1]->run_ns + x[2]->run_ns;
	assert_int_equal(busy + h.idle_ns, VC_SEC(10));
	assert_within(x[0]->run_ns, busy / 7, 1.0);
	assert_within(x[1]->run_ns, busy * 2 / 7, 1.0);
	assert_within(x[2]->run_ns, busy * 4 / 7, 1.0);
}

static void test_shares_124(void **state)
{
	(void)state;
	run_124();
	assert_int_equal(h.idle_ns, 0);
}

/* 20% of stops land in a non-preemptible section of up to 3 ms. */
static void test_shares_124_under_refusals(void **state)
{
	(void)state;
	h.refuse_pct = 20;
	h.refuse_max = MS(3);
	h.refuse_again = true; /* a retry may hit the next section */
	run_124();
	assert_true(h.refusals > 200);
}

/* Every accepted stop completes 700 us later; the old context is charged. */
static void test_shares_124_slow_stops(void **state)
{
	(void)state;
	h.switch_time = US(700);
	h.refuse_pct = 20;
	h.refuse_max = MS(3);
	run_124();
}

static void test_many_random_weights(void **state)
{
	struct h_vc *x[64];
	uint64_t sum = 0;
	vc_time_t busy = 0;

	(void)state;
	for (int i = 0; i < 64; i++) {
		char w[32];

		snprintf(w, sizeof(w), "weight=%u", (unsigned int)(100 + h_rand(&h) % 901));
		x[i] = h_add_ok(&h, (uint32_t)i + 1, "d", w, NULL);
		h_wake(&h, x[i], H_FOREVER);
	}
	h.refuse_pct = 10;
	h.refuse_max = MS(2);
	h_run(&h, VC_SEC(120));
	for (int i = 0; i < 64; i++) {
		uint64_t w;

		assert_int_equal(vc_parse_u64(h_get(&h, x[i], "weight"), &w), 0);
		sum += w;
		busy += x[i]->run_ns;
	}
	for (int i = 0; i < 64; i++) {
		uint64_t w;

		assert_int_equal(vc_parse_u64(h_get(&h, x[i], "weight"), &w), 0);
		assert_within(x[i]->run_ns, (vc_time_t)((double)busy * (double)w / (double)sum),
			      3.0);
	}
}

static void test_weight_change_shifts_shares(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, VC_SEC(2));
	assert_within(a->run_ns, VC_SEC(1), 1.0);
	assert_int_equal(h_set(&h, a, "weight", "768"), 0);
	h_clear_stats(&h);
	h_run(&h, VC_SEC(4));
	assert_within(a->run_ns, VC_SEC(3), 1.0);
	assert_within(b->run_ns, VC_SEC(1), 1.0);
}

static void test_cap_limits(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "cap=20", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, VC_SEC(2));
	assert_within(a->run_ns, MS(400), 1.0);
	assert_within(b->run_ns, MS(1600), 1.0);
	/* Alone, a still gets no more than its cap: the device idles. */
	h_sleep(&h, b);
	h_clear_stats(&h);
	h_run(&h, VC_SEC(1));
	assert_within(a->run_ns, MS(200), 1.0);
	assert_within(h.idle_ns, MS(800), 1.0);
	assert_non_null(strstr(h_dump(&h), "parked"));
	/* Uncapped at run time, it takes the whole device. */
	assert_int_equal(h_set(&h, a, "cap", "0"), 0);
	h_clear_stats(&h);
	h_run(&h, MS(500));
	assert_int_equal(a->run_ns, MS(500));
}

static void test_cap_overrun_carried(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "cap=10", NULL);

	(void)state;
	h_add_ok(&h, 2, "b", NULL);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, h.vc[1], H_FOREVER);
	/* Stopping a at its cap is refused half the time, for up to 4 ms. */
	h.refuse_pct = 50;
	h.refuse_max = MS(4);
	h_run(&h, VC_SEC(5));
	assert_true(h.refusals > 20);
	assert_within(a->run_ns, MS(500), 2.0);
}

static void test_sleeper_banks_no_credit(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, VC_SEC(5)); /* c sleeps all along */
	h_wake(&h, c, H_FOREVER);
	h_clear_stats(&h);
	h_run(&h, MS(300));
	/* A third of 300 ms, plus at most one slice of head start. */
	assert_true(c->run_ns <= MS(100) + MS(10));
	assert_true(c->run_ns >= MS(100) - MS(10));
	assert_true(a->run_ns >= MS(90) && b->run_ns >= MS(90));
}

static void test_short_sleep_keeps_share(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	/* a runs 4 ms jobs with 1 ms pauses; b is always busy. */
	h_wake(&h, b, H_FOREVER);
	while (h.now < VC_SEC(4)) {
		h_wake(&h, a, MS(4));
		while (a->awake)
			h_run(&h, US(50));
		h_run(&h, MS(1));
	}
	/* The pauses are made up for: a still gets half the device. */
	assert_within(a->run_ns, h.now / 2, 1.0);
}

static void test_wake_preempts_after_ratelimit(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(100));
	h_sleep(&h, b);
	h_run(&h, MS(200) + US(300)); /* a alone, 300 us into a slice */
	h_clear_stats(&h);
	/* b is far behind a: it preempts at once (a ran more than ratelimit). */
	assert_true(h.s.ops->wake(&h.s, &b->v, h.now));
	b->awake = true;
	b->work = H_FOREVER;
	h_reschedule(&h);
	assert_ptr_equal(h.curr, b);
}

static void test_ratelimit_protects_running(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	assert_int_equal(h_set(&h, NULL, "ratelimit", "3ms"), 0);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, c, H_FOREVER);
	h_run(&h, MS(100)); /* a and c alternate; b sleeps */
	while (h.curr != c)
		h_run(&h, US(100));
	h_run(&h, h.deadline - h.now + 1); /* a was switched in 1 ns ago */
	assert_ptr_equal(h.curr, a);
	h_run(&h, MS(1) - 1);
	h_clear_stats(&h);
	/* b wakes a slice behind, but a has run only 1 ms of its 3 ms ratelimit. */
	h_wake(&h, b, H_FOREVER);
	assert_ptr_equal(h.curr, a);
	h_run(&h, MS(2) - 1);
	assert_ptr_equal(h.curr, a);
	h_run(&h, MS(1) + 1);
	assert_ptr_equal(h.curr, b);
	assert_int_equal(a->run_ns, MS(2));
	assert_int_equal(b->run_ns, MS(1));
}

/* Refuse the first stop of a in favour of b for 2 ms. */
static vc_time_t refuse_once(struct harness *hh, struct h_vc *prev, struct h_vc *next)
{
	(void)prev;
	(void)next;
	return hh->refusals == 0 ? MS(2) : 0;
}

/*
 * Run a, b, c for 30 ms, then let the next decision be refused (or not).
 * Returns who runs 2.5 ms after that decision; *@before: who ran before it.
 */
static int who_follows(bool refuse, int *before, vc_time_t *t0)
{
	struct h_vc *x[3];

	h_fini(&h);
	h_init(&h, &vc_sched_credit_ops, 0, 0);
	x[0] = h_add_ok(&h, 1, "a", "weight=512", NULL);
	x[1] = h_add_ok(&h, 2, "b", NULL);
	x[2] = h_add_ok(&h, 3, "c", NULL);
	for (int i = 0; i < 3; i++)
		h_wake(&h, x[i], H_FOREVER);
	h_run(&h, MS(30));
	*t0 = h.deadline;
	*before = (int)h.curr->idx;
	if (refuse)
		h.refuse = refuse_once;
	h_run(&h, *t0 - h.now + MS(3));
	return h_running_at(&h, *t0 + MS(2) + US(500));
}

static void test_refusal_keeps_intended_next(void **state)
{
	int before, before2, intended, next;
	vc_time_t t0, t0b;

	(void)state;
	intended = who_follows(false, &before, &t0);
	assert_int_not_equal(intended, before);
	next = who_follows(true, &before2, &t0b);
	assert_int_equal(before2, before);
	assert_int_equal(t0b, t0);
	assert_int_equal(h.refusals, 1);
	/* The refused vcoproc ran on for 2 ms, then the intended next ran. */
	assert_int_equal(h_running_at(&h, t0 + MS(1)), before);
	assert_int_equal(next, intended);
}

static void test_light_vcoprocs_get_short_slices(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "weight=100", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", "weight=400", NULL);

	(void)state;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, VC_SEC(1));
	/* Mean weight 250: a's turns are 10 * 100/250 = 4 ms, b's capped at 10 ms. */
	for (unsigned int i = 0; i + 1 < h.nr_seg; i++) {
		vc_time_t len = h.seg[i].to - h.seg[i].from;

		if (h.seg[i].from < MS(50))
			continue; /* b starts a slice behind: it catches up first */
		if (h.seg[i].idx == (int)a->idx)
			assert_int_equal(len, MS(4));
		else
			assert_int_equal(len % MS(10), 0);
	}
	assert_true(a->picks >= 45);
	assert_within(a->run_ns, MS(200), 1.0);
}

static void test_params(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", "weight=512", "cap=50", NULL);
	struct h_vc *x;

	(void)state;
	assert_int_equal(h_nparams(&h, NULL), 3);
	assert_int_equal(h_nparams(&h, a), 2);
	assert_string_equal(h_get(&h, NULL, "slice"), "10ms");
	assert_string_equal(h_get(&h, NULL, "ratelimit"), "1ms");
	assert_string_equal(h_get(&h, NULL, "cap_period"), "100ms");
	assert_string_equal(h_get(&h, a, "weight"), "512");
	assert_string_equal(h_get(&h, a, "cap"), "50");

	assert_int_equal(h_set(&h, NULL, "slice", "30"), 0);
	assert_string_equal(h_get(&h, NULL, "slice"), "30ms");
	assert_int_equal(h_set(&h, NULL, "ratelimit", "500"), 0); /* bare: us */
	assert_string_equal(h_get(&h, NULL, "ratelimit"), "500us");
	assert_int_equal(h_set(&h, NULL, "ratelimit", "0"), 0);
	assert_int_equal(h_set(&h, NULL, "cap_period", "1s"), 0);
	assert_string_equal(h_get(&h, NULL, "cap_period"), "1s");
	assert_int_equal(h_set(&h, a, "weight", "65535"), 0);
	assert_int_equal(h_set(&h, a, "cap", "100"), 0);
	assert_string_equal(h_get(&h, a, "weight"), "65535");
	assert_string_equal(h_get(&h, a, "cap"), "100");

	assert_int_equal(h_set(&h, NULL, "slice", "50us"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "slice", "fast"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "ratelimit", "1s"), -VC_EINVAL);
	assert_int_equal(h_set(&h, NULL, "cap_period", "0"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "weight", "0"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "weight", "65536"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "weight", "-3"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "cap", "101"), -VC_EINVAL);
	assert_int_equal(h_set(&h, a, "cap", "50%"), -VC_EINVAL);
	assert_string_equal(h_get(&h, a, "weight"), "65535");
	assert_int_equal(h_set(&h, NULL, "weight", "5"), -VC_ENOENT);
	assert_int_equal(h_set(&h, a, "slice", "5ms"), -VC_ENOENT);
	assert_int_equal(h_set(&h, a, "budget", "5ms"), -VC_ENOENT);

	/* Creation-time parameters are checked too; unknown ones are ignored. */
	assert_int_equal(h_add(&h, &x, 2, "b", "weight=0", NULL), -VC_EINVAL);
	assert_int_equal(h_add(&h, &x, 2, "b", "cap=abc", NULL), -VC_EINVAL);
	assert_int_equal(h_add(&h, &x, 2, "b", "budget=5ms", NULL), 0);
	assert_string_equal(h_get(&h, x, "weight"), "256");
	assert_string_equal(h_get(&h, x, "cap"), "0");
}

/* Expected shares: weight over the total weight, following live changes. */
static void test_expected_share_weights(void **state)
{
	struct h_vc *a, *b, *c;

	(void)state;
	a = h_add_ok(&h, 1, "a", NULL); /* default weight 256 */
	b = h_add_ok(&h, 2, "b", "weight=256", NULL);
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE / 2);
	assert_int_equal(h_share(&h, b), VC_SHARE_ONE / 2);
	/* 256 -> 768: 1/4 and 3/4, at once. */
	assert_int_equal(h_set(&h, b, "weight", "768"), 0);
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE / 4);
	assert_int_equal(h_share(&h, b), VC_SHARE_ONE / 4 * 3);
	/* A third one counts whether it has work or not; rounded to nearest. */
	c = h_add_ok(&h, 3, "c", "weight=1024", NULL);
	assert_int_equal(h_share(&h, a), 125000000);
	assert_int_equal(h_share(&h, b), 375000000);
	assert_int_equal(h_share(&h, c), 500000000);
	assert_int_equal(h_set(&h, c, "weight", "1"), 0);
	assert_int_equal(h_share(&h, c), 975610); /* 1/1025, rounded */
	h_remove(&h, c);
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE / 4);
}

/* Caps: a capped vcoproc gets no more than its cap; the rest is shared by weight. */
static void test_expected_share_caps(void **state)
{
	struct h_vc *x[3];
	vc_time_t busy;

	(void)state;
	x[0] = h_add_ok(&h, 1, "c20", "cap=20", NULL);
	x[1] = h_add_ok(&h, 2, "b", NULL);
	x[2] = h_add_ok(&h, 3, "c", NULL);
	assert_int_equal(h_share(&h, x[0]), 200000000);
	assert_int_equal(h_share(&h, x[1]), 400000000);
	assert_int_equal(h_share(&h, x[2]), 400000000);
	/* And that is what the algorithm gives. */
	for (int i = 0; i < 3; i++)
		h_wake(&h, x[i], H_FOREVER);
	h_run(&h, VC_SEC(2));
	busy = x[0]->run_ns + x[1]->run_ns + x[2]->run_ns;
	assert_within(x[0]->run_ns, busy / 5, 1.0);
	assert_within(x[1]->run_ns, busy * 2 / 5, 1.0);
	/* A cap above the weighted part does not bind. */
	assert_int_equal(h_set(&h, x[0], "cap", "50"), 0);
	assert_int_equal(h_share(&h, x[0]), 333333333);
	/* Caps that bind in turn: 10% and 20%, then the rest to the third. */
	assert_int_equal(h_set(&h, x[0], "cap", "10"), 0);
	assert_int_equal(h_set(&h, x[1], "cap", "20"), 0);
	assert_int_equal(h_share(&h, x[0]), 100000000);
	assert_int_equal(h_share(&h, x[1]), 200000000);
	assert_int_equal(h_share(&h, x[2]), 700000000);
	/* Every one capped: the device idles for the rest. */
	assert_int_equal(h_set(&h, x[2], "cap", "30"), 0);
	assert_int_equal(h_share(&h, x[2]), 300000000);
	/* cap=0 is no cap. */
	assert_int_equal(h_set(&h, x[2], "cap", "0"), 0);
	assert_int_equal(h_share(&h, x[2]), 700000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shares_124, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shares_124_under_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shares_124_slow_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_random_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weight_change_shifts_shares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_overrun_carried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleeper_banks_no_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_sleep_keeps_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_preempts_after_ratelimit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_protects_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_keeps_intended_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_light_vcoprocs_get_short_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_share_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_share_caps, setup, teardown),
	};

	return cmocka_run_group_tests_name("sched-credit", tests, NULL, NULL);
}
