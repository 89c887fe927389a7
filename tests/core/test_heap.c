// SPDX-License-Identifier: MIT
/*
 * The core's min-heap (core/heap.c) against a brute-force reference, in
 * both orders: keys that wrap (the schedulers' virtual times) and absolute
 * keys (the OS layers' deadlines, VC_TIME_INF last).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/errno.h>
#include <vcoproc/heap.h>
#include <vcoproc/util.h>

#define N 200

struct item {
	struct vc_heap_node hn;
};

static struct item items[N];

static bool item_before(const struct item *x, const struct item *y)
{
	return x->hn.key != y->hn.key ? x->hn.key < y->hn.key : x->hn.tie < y->hn.tie;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The queued item that must be on top, by brute force. */
static struct item *ref_min(void)
{
	struct item *best = NULL;

	for (int i = 0; i < N; i++)
		if (vc_heap_queued(&items[i].hn) &&
		    (!best || item_before(&items[i], best)))
			best = &items[i];
	return best;
}

static void test_heap_matches_reference(void **state)
{
	struct vc_heap h;
	unsigned int queued = 0;

	(void)state;
	memset(items, 0, sizeof(items));
	vc_heap_init(&h);
	assert_int_equal(vc_heap_reserve(&h, N), 0);
	assert_null(vc_heap_top(&h));
	for (int i = 0; i < N; i++)
		items[i].hn.tie = (uint64_t)i;
	for (int step = 0; step < 100000; step++) {
		struct item *it = &items[next_rand() % N];
		struct item *top;

		switch (next_rand() % 3) {
		case 0:
			if (!vc_heap_queued(&it->hn)) {
				it->hn.key = next_rand() % 1000;
				vc_heap_push(&h, &it->hn);
				queued++;
			}
			break;
		case 1:
			if (vc_heap_queued(&it->hn))
				queued--;
			vc_heap_del(&h, &it->hn); /* also when not queued: no-op */
			break;
		default:
			it->hn.key = next_rand() % 1000;
			vc_heap_fix(&h, &it->hn);
			break;
		}
		assert_int_equal(h.nr, queued);
		top = ref_min();
		if (top)
			assert_ptr_equal(vc_heap_top(&h), &top->hn);
		else
			assert_null(vc_heap_top(&h));
		if (queued >= 2) {
			/* The second: what the top would be without the top. */
			struct vc_heap_node *second = vc_heap_second(&h);
			struct item *t = vc_container_of(vc_heap_top(&h), struct item, hn);

			vc_heap_del(&h, &t->hn);
			assert_ptr_equal(vc_heap_top(&h), second);
			vc_heap_push(&h, &t->hn);
		}
	}
	for (int i = 0; i < N; i++)
		vc_heap_del(&h, &items[i].hn);
	assert_int_equal(h.nr, 0);
	vc_heap_fini(&h);
}

static void test_heap_grows(void **state)
{
	struct vc_heap h;

	(void)state;
	memset(items, 0, sizeof(items));
	vc_heap_init(&h);
	for (int i = 0; i < N; i++) {
		assert_int_equal(vc_heap_reserve(&h, (unsigned int)i + 1), 0);
		items[i].hn.key = (uint64_t)(N - i);
		vc_heap_push(&h, &items[i].hn);
	}
	assert_true(h.cap >= N);
	for (int i = N - 1; i >= 0; i--) {
		assert_ptr_equal(vc_heap_top(&h), &items[i].hn);
		vc_heap_del(&h, &items[i].hn);
	}
	vc_heap_fini(&h);
}

/* Absolute keys: VC_TIME_INF sorts last, 0 first (a wrapping heap would not). */
static void test_heap_absolute(void **state)
{
	struct vc_heap h;
	struct vc_heap_node a = { .key = VC_TIME_INF }, b = { .key = 0 }, c = { .key = 5 };

	(void)state;
	vc_heap_init_abs(&h);
	assert_int_equal(vc_heap_reserve(&h, 3), 0);
	assert_int_equal(vc_heap_push(&h, &a), 0);
	assert_int_equal(vc_heap_push(&h, &b), 0);
	assert_int_equal(vc_heap_push(&h, &c), 0);
	assert_ptr_equal(vc_heap_top(&h), &b);
	assert_ptr_equal(vc_heap_second(&h), &c);
	vc_heap_del(&h, &b);
	vc_heap_del(&h, &c);
	assert_ptr_equal(vc_heap_top(&h), &a);
	vc_heap_fini(&h);
	assert_false(vc_heap_queued(&a)); /* fini forgets what was queued */

	/* The same keys in a wrapping heap: 0 is "after" VC_TIME_INF. */
	vc_heap_init(&h);
	assert_int_equal(vc_heap_reserve(&h, 2), 0);
	assert_int_equal(vc_heap_push(&h, &a), 0);
	assert_int_equal(vc_heap_push(&h, &b), 0);
	assert_ptr_equal(vc_heap_top(&h), &a);
	vc_heap_fini(&h);
}

/* Equal keys come out by tie, lowest first. */
static void test_heap_ties(void **state)
{
	struct vc_heap h;
	struct vc_heap_node n[4];

	(void)state;
	memset(n, 0, sizeof(n));
	vc_heap_init_abs(&h);
	assert_int_equal(vc_heap_reserve(&h, 4), 0);
	for (int i = 0; i < 4; i++) {
		n[i].key = 7;
		n[i].tie = (uint64_t)(3 - i) << 40; /* ties wider than 32 bits */
		assert_int_equal(vc_heap_push(&h, &n[i]), 0);
	}
	for (int i = 3; i >= 0; i--) {
		assert_ptr_equal(vc_heap_top(&h), &n[i]);
		vc_heap_del(&h, &n[i]);
	}
	vc_heap_fini(&h);
}

/* Misuse is refused, not silently ignored. */
static void test_heap_misuse(void **state)
{
	struct vc_heap h;
	struct vc_heap_node a = { 0 }, b = { 0 };

	(void)state;
	vc_heap_init(&h);
	assert_int_equal(vc_heap_push(&h, &a), -VC_ENOSPC); /* nothing reserved */
	assert_int_equal(vc_heap_reserve(&h, 1), 0);
	assert_int_equal(vc_heap_push(&h, &a), 0);
	assert_int_equal(vc_heap_push(&h, &a), -VC_EBUSY);  /* already queued */
	assert_int_equal(h.nr, 1);
	vc_heap_del(&h, &b);                                 /* not queued: no-op */
	assert_int_equal(h.nr, 1);
	vc_heap_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_matches_reference),
		cmocka_unit_test(test_heap_grows),
		cmocka_unit_test(test_heap_absolute),
		cmocka_unit_test(test_heap_ties),
		cmocka_unit_test(test_heap_misuse),
	};

	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
