// SPDX-License-Identifier: MIT
/*
 * arinc653 on the mock device: the frame followed to the ns, idle windows,
 * no work conservation, refusal jitter without frame drift, frame syntax,
 * domain names and ids, the default frame following vcoprocs.
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
	h_init(&h, &vc_sched_arinc653_ops, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

/* Every run segment lies inside a window of its vcoproc (@owner per ms). */
static void assert_follows(const int *owner, unsigned int frame_ms)
{
	for (unsigned int i = 0; i < h.nr_seg; i++) {
		const struct h_seg *sg = &h.seg[i];

		for (vc_time_t t = sg->from; t < sg->to; t += US(250))
			if (owner[t / MS(1) % frame_ms] != sg->idx)
				fail_msg("t=%llu ns: %d runs in a window of %d",
					 (unsigned long long)t, sg->idx,
					 owner[t / MS(1) % frame_ms]);
	}
}

static void test_follows_frame(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	/* a:5, b:3, idle:2 */
	static const int owner[10] = { 0, 0, 0, 0, 0, 1, 1, 1, -1, -1 };

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,b:3ms,idle:2ms"), 0);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(1000));
	assert_follows(owner, 10);
	assert_int_equal(a->run_ns, MS(500));
	assert_int_equal(b->run_ns, MS(300));
	assert_int_equal(h.idle_ns, MS(200));
	assert_int_equal(h.switches, 200);
	assert_int_equal(a->v.stats.jitter_max_ns, 0);
}

static void test_idle_when_owner_asleep(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "a:4,b:6"), 0);
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, c, H_FOREVER); /* in no window: never runs */
	h_run(&h, MS(100));
	/* b has no work: its windows idle, a does not get them. */
	assert_int_equal(a->run_ns, MS(40));
	assert_int_equal(b->run_ns, 0);
	assert_int_equal(c->run_ns, 0);
	assert_int_equal(h.idle_ns, MS(60));
}

static void test_wake_in_own_window_runs_at_once(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c = h_add_ok(&h, 3, "c", NULL);

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,b:5"), 0);
	h_wake(&h, a, H_FOREVER);
	h_run(&h, MS(17)); /* in b's window, b asleep: the device idles */
	assert_null(h.curr);
	c->awake = true;
	assert_false(h.s.ops->wake(&h.s, &c->v, h.now)); /* in no window */
	b->awake = true;
	assert_true(h.s.ops->wake(&h.s, &b->v, h.now));
	b->work = H_FOREVER;
	h_reschedule(&h);
	assert_ptr_equal(h.curr, b);
	h_run(&h, MS(5));
	assert_int_equal(b->run_ns, MS(3));
	assert_int_equal(c->run_ns, 0);
	/* Started when it woke: no jitter. */
	assert_int_equal(b->v.stats.jitter_ns, 0);
}

/* Refuse the stop at 5 ms (end of a's window) for 1.5 ms, once. */
static vc_time_t refuse_at_5(struct harness *hh, struct h_vc *prev, struct h_vc *next)
{
	(void)prev;
	(void)next;
	return hh->now == MS(5) ? US(1500) : 0;
}

static void test_refusal_jitter_frame_not_shifted(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,b:3,idle:2"), 0);
	h.refuse = refuse_at_5;
	h_wake(&h, a, H_FOREVER);
	h_wake(&h, b, H_FOREVER);
	h_run(&h, MS(30));
	assert_int_equal(h.refusals, 1);
	/* a overran into b's window; b started 1.5 ms late ... */
	assert_int_equal(h_running_at(&h, MS(6)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(6) + US(500)), (int)b->idx);
	assert_int_equal(b->v.stats.jitter_ns, US(1500));
	assert_int_equal(b->v.stats.jitter_max_ns, US(1500));
	/* ... and still ended at 8 ms; the next frames are on time. */
	assert_int_equal(h_running_at(&h, MS(8)), -1);
	assert_int_equal(h_running_at(&h, MS(10)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(15)), (int)b->idx);
	assert_int_equal(h_running_at(&h, MS(25)), (int)b->idx);
	assert_int_equal(b->run_ns, MS(3) - US(1500) + MS(6));
	assert_int_equal(a->v.stats.jitter_ns, 0);
	/* a paid its 1.5 ms back at the end of its next window, then none owed. */
	assert_int_equal(h_running_at(&h, MS(13) + US(400)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(13) + US(600)), -1);
	assert_int_equal(h_running_at(&h, MS(24) + US(900)), (int)a->idx);
	assert_int_equal(a->run_ns, MS(15));
}

static void test_numeric_ids_and_names(void **state)
{
	struct h_vc *seven = h_add_ok(&h, 7, "seven", NULL);
	struct h_vc *three = h_add_ok(&h, 9, "3", NULL); /* named "3", id 9 */
	struct h_vc *id3 = h_add_ok(&h, 3, "other", NULL);

	(void)state;
	/*
	 * The one number rule (vc_domain_match()): all digits is an id.  "7"
	 * is domain id 7, "3" is domain id 3 ("other"), not the domain named
	 * "3": that one is reached by its id, 9.
	 */
	assert_int_equal(h_set(&h, NULL, "frame", "7:2ms,3:3ms,9:1ms,seven:4ms"), 0);
	h_wake(&h, seven, H_FOREVER);
	h_wake(&h, three, H_FOREVER);
	h_wake(&h, id3, H_FOREVER);
	h_run(&h, MS(100));
	assert_int_equal(seven->run_ns, MS(60));
	assert_int_equal(id3->run_ns, MS(30));
	assert_int_equal(three->run_ns, MS(10));
}

static void test_missing_domain_then_created(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *g;

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,ghost:5"), 0);
	h_wake(&h, a, H_FOREVER);
	h_run(&h, MS(20));
	assert_int_equal(h.idle_ns, MS(10)); /* ghost's windows idle */
	g = h_add_ok(&h, 5, "ghost", NULL);
	h_wake(&h, g, H_FOREVER);
	h_run(&h, MS(20));
	assert_int_equal(g->run_ns, MS(10));
	/* It leaves again: its window idles, a keeps its own. */
	h_remove(&h, g);
	h_clear_stats(&h);
	h_run(&h, MS(20));
	assert_int_equal(a->run_ns, MS(10));
	assert_int_equal(h.idle_ns, MS(10));
}

static void test_default_frame_follows_vcoprocs(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);
	struct h_vc *b = h_add_ok(&h, 2, "b", NULL);
	struct h_vc *c;

	(void)state;
	assert_string_equal(h_get(&h, NULL, "frame"), "auto");
	h_wake(&h, b, H_FOREVER);
	h_wake(&h, a, H_FOREVER);
	h_run(&h, MS(40));
	/* Creation order, 10 ms each, whoever woke first. */
	assert_int_equal(h_running_at(&h, MS(5)), (int)a->idx);
	assert_int_equal(h_running_at(&h, MS(15)), (int)b->idx);
	assert_int_equal(a->run_ns, MS(20));
	c = h_add_ok(&h, 3, "c", NULL);
	h_wake(&h, c, H_FOREVER);
	h_clear_stats(&h);
	h_run(&h, MS(300));
	assert_int_equal(a->run_ns, MS(100));
	assert_int_equal(b->run_ns, MS(100));
	assert_int_equal(c->run_ns, MS(100));
	h_remove(&h, b);
	h_clear_stats(&h);
	h_run(&h, MS(200));
	assert_int_equal(a->run_ns, MS(100));
	assert_int_equal(c->run_ns, MS(100));
	assert_int_equal(h.idle_ns, 0);
	/* Back to "auto" from an explicit frame. */
	assert_int_equal(h_set(&h, NULL, "frame", "c:10"), 0);
	assert_int_equal(h_set(&h, NULL, "frame", "auto"), 0);
	assert_string_equal(h_get(&h, NULL, "frame"), "auto");
	h_clear_stats(&h);
	h_run(&h, MS(200));
	assert_int_equal(a->run_ns, MS(100));
}

static void test_frame_syntax(void **state)
{
	static const char *const bad[] = {
		"", ",", "a", "a:", ":5", "a:5,", "a:5,,b:3", "a:5xs", "a:5 ms", "a:0",
		"a:11s", "a:-1", "a:1.5.0ms", "a:.ms", "a:5;b:5",
		"a-very-long-domain-name-over-31-chars:5", "d:x:1", "a b:5", "ä:5",
	};
	char big[4096];
	size_t n = 0;

	(void)state;
	assert_int_equal(h_set(&h, NULL, "frame", "x:1ms"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (h_set(&h, NULL, "frame", bad[i]) != -VC_EINVAL)
			fail_msg("frame \"%s\" accepted", bad[i]);
	/* 257 windows: one too many. */
	for (int i = 0; i < 257; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sd%d:1", i ? "," : "", i);
	assert_int_equal(h_set(&h, NULL, "frame", big), -VC_EINVAL);
	/* Nothing changed. */
	assert_string_equal(h_get(&h, NULL, "frame"), "x:1ms");
	/* Units, spaces around tokens, the characters names may have. */
	assert_int_equal(h_set(&h, NULL, "frame",
			       " a:500us , b : 1s,c:2000000ns,idle:7,vm-1.x_Y:1"), 0);
	assert_string_equal(h_get(&h, NULL, "frame"),
			    "a:500us,b:1s,c:2ms,idle:7ms,vm-1.x_Y:1ms");
	/* Decimals, as every duration of the project (vc_parse_duration()). */
	assert_int_equal(h_set(&h, NULL, "frame", "a:1.5ms,b:0.25"), 0);
	assert_string_equal(h_get(&h, NULL, "frame"), "a:1500us,b:250us");
	/* 256 windows are fine; the reported value is cut short with "...". */
	big[n - strlen(",d256:1")] = '\0';
	assert_int_equal(h_set(&h, NULL, "frame", big), 0);
	assert_int_equal(strlen(h_get(&h, NULL, "frame")), VC_PARAM_VAL_MAX - 1);
	assert_non_null(strstr(h_get(&h, NULL, "frame"), "..."));
}

static void test_params(void **state)
{
	struct h_vc *a = h_add_ok(&h, 1, "a", NULL);

	(void)state;
	assert_int_equal(h_nparams(&h, NULL), 1);
	assert_int_equal(h_nparams(&h, a), 0);
	assert_int_equal(h_set(&h, NULL, "slice", "5ms"), -VC_ENOENT);
	assert_int_equal(h_set(&h, a, "frame", "a:5"), -VC_ENOENT);
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,idle:5"), 0);
	assert_string_equal(h_get(&h, NULL, "frame"), "a:5ms,idle:5ms");
	assert_non_null(strstr(h_dump(&h), "idle: idle"));
	assert_non_null(strstr(h_dump(&h), "a: vcoproc 100"));
}

/* Expected shares: a domain's windows over the major frame. */
static void test_expected_share(void **state)
{
	struct h_vc *a, *b, *c;

	(void)state;
	a = h_add_ok(&h, 1, "a", NULL);
	b = h_add_ok(&h, 2, "b", NULL);
	/* "auto": one window each. */
	assert_int_equal(h_share(&h, a), VC_SHARE_ONE / 2);
	assert_int_equal(h_share(&h, b), VC_SHARE_ONE / 2);
	c = h_add_ok(&h, 3, "c", NULL);
	assert_int_equal(h_share(&h, c), 333333333);
	/* Several windows of one domain add up; idle time and domains with
	 * no window are nobody's. */
	assert_int_equal(h_set(&h, NULL, "frame", "a:5,b:2.5,idle:5,1:5,ghost:2.5"), 0);
	assert_int_equal(h_share(&h, a), 500000000);
	assert_int_equal(h_share(&h, b), 125000000);
	assert_int_equal(h_share(&h, c), 0);
	/* A domain that comes later fills its window. */
	h_remove(&h, b);
	b = h_add_ok(&h, 5, "ghost", NULL);
	assert_int_equal(h_share(&h, b), 125000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follows_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_when_owner_asleep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_in_own_window_runs_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_jitter_frame_not_shifted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_ids_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_domain_then_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_frame_follows_vcoprocs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_share, setup, teardown),
	};

	return cmocka_run_group_tests_name("sched-arinc653", tests, NULL, NULL);
}
