// SPDX-License-Identifier: MIT
/*
 * The helpers the algorithms share (sched/common.c): parameter parsing and
 * printing, shares for expected_share().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/errno.h>

#include "../core/death.h"
#include "common.h"

/* Shares in parts per billion, rounded, for any 64-bit part and whole. */
static void test_share(void **state)
{
	(void)state;
	assert_int_equal(vc_sched_share(1, 4), VC_SHARE_ONE / 4);
	assert_int_equal(vc_sched_share(1, 3), 333333333);
	assert_int_equal(vc_sched_share(2, 3), 666666667);
	assert_int_equal(vc_sched_share(0, 3), 0);
	assert_int_equal(vc_sched_share(3, 3), VC_SHARE_ONE);
	assert_int_equal(vc_sched_share(4, 3), VC_SHARE_ONE);  /* capped at the whole */
	assert_int_equal(vc_sched_share(1, 0), 0);             /* nothing to share */
	assert_int_equal(vc_sched_share(VC_SEC(1280), VC_SEC(2560)), VC_SHARE_ONE / 2);
	assert_int_equal(vc_sched_share(UINT64_MAX / 3, UINT64_MAX), 333333333);
	assert_int_equal(vc_sched_share(UINT64_MAX - 1, UINT64_MAX), VC_SHARE_ONE);
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

#ifndef NDEBUG /* assertions are compiled out with NDEBUG */
static void push_twice(void *arg)
{
	struct vc_heap *heap = arg;
	struct vc_heap_node n = { .key = 1 };

	vc_sched_heap_push(heap, &n);
	vc_sched_heap_push(heap, &n); /* already queued: a bug */
}

static void push_once(void *arg)
{
	struct vc_heap *heap = arg;
	struct vc_heap_node n = { .key = 1 };

	vc_sched_heap_push(heap, &n);
}

/* A push that cannot be done is a bug of the algorithm: it is asserted. */
static void test_heap_push_misuse_asserts(void **state)
{
	struct vc_heap heap;
	char out[512];

	(void)state;
	vc_heap_init(&heap);
	assert_int_equal(vc_heap_reserve(&heap, 4), 0);
	assert_int_equal(death_run(push_once, &heap, out, sizeof(out)), 0);
	assert_int_equal(death_run(push_twice, &heap, out, sizeof(out)), SIGABRT);
	assert_non_null(strstr(out, "assertion failed: !err"));
	vc_heap_fini(&heap);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_time_values),
#ifndef NDEBUG
		cmocka_unit_test(test_heap_push_misuse_asserts),
#endif
	};

	return cmocka_run_group_tests_name("sched-common", tests, NULL, NULL);
}
