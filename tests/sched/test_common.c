// SPDX-License-Identifier: MIT
/*
 * The helpers the algorithms share (sched/common.c): the min-heap against a
 * brute-force reference, and parameter parsing and printing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/errno.h>

#include "common.h"

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
		items[i].hn.tie = (uint32_t)i;
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

static void test_time_values(void **state)
{
	char buf[VC_SCHED_TIME_STR];
	vc_time_t t;
	uint64_t u;
	bool b;

	(void)state;
	assert_string_equal(vc_sched_fmt_time(buf, VC_MSEC(10)), "10ms");
	assert_string_equal(vc_sched_fmt_time(buf, VC_USEC(2500)), "2500us");
	assert_string_equal(vc_sched_fmt_time(buf, VC_SEC(3)), "3s");
	assert_string_equal(vc_sched_fmt_time(buf, 1234), "1234ns");
	assert_string_equal(vc_sched_fmt_time(buf, 0), "0ns");
	assert_int_equal(vc_sched_parse_time("7", VC_USEC(1), 0, VC_SEC(1), &t), 0);
	assert_int_equal(t, VC_USEC(7));
	assert_int_equal(vc_sched_parse_time("7ms", VC_USEC(1), 0, VC_SEC(1), &t), 0);
	assert_int_equal(t, VC_MSEC(7));
	assert_int_equal(vc_sched_parse_time("2s", VC_USEC(1), 0, VC_SEC(1), &t),
			 -VC_EINVAL);
	assert_int_equal(vc_sched_parse_time("7min", VC_USEC(1), 0, VC_SEC(1), &t),
			 -VC_EINVAL);
	assert_int_equal(vc_sched_parse_time(NULL, VC_USEC(1), 0, VC_SEC(1), &t),
			 -VC_EINVAL);
	assert_int_equal(vc_sched_parse_uint("65535", 1, 65535, &u), 0);
	assert_int_equal(u, 65535);
	assert_int_equal(vc_sched_parse_uint("0", 1, 65535, &u), -VC_EINVAL);
	assert_int_equal(vc_sched_parse_uint("-1", 1, 65535, &u), -VC_EINVAL);
	assert_int_equal(vc_sched_parse_bool("on", &b), 0);
	assert_true(b);
	assert_int_equal(vc_sched_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(vc_sched_parse_bool("maybe", &b), -VC_EINVAL);
	assert_true(vc_sched_before(UINT64_MAX - 5, 3)); /* across the wrap */
	assert_false(vc_sched_before(3, UINT64_MAX - 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_matches_reference),
		cmocka_unit_test(test_heap_grows),
		cmocka_unit_test(test_time_values),
	};

	return cmocka_run_group_tests_name("sched-common", tests, NULL, NULL);
}
