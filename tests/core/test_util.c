// SPDX-License-Identifier: MIT
/* Core utilities: formatting, parsing, strings, lists, IOMMU translation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/vcoproc.h>

static void test_vsnprintf_matches_libc(void **state)
{
	static const struct {
		const char *fmt;
		long long v;
	} cases[] = {
		{ "%d", -42 }, { "%5d|", 42 }, { "%-5d|", 42 }, { "%05d", -42 },
		{ "%x", 0xbeef }, { "%X", 0xbeef }, { "%08x", 0x1f }, { "%u", 0 },
		{ "%#x", 0xbeef }, { "%#X", 0xbeef }, { "%#x", 0 }, { "%#010x", 0x1f },
		{ "%-#8x|", 0x1f }, { "%hu", 7 }, { "%3c|", 'a' }, { "%-3c|", 'a' },
	};
	char a[64], b[64];

	(void)state;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vc_snprintf(a, sizeof(a), cases[i].fmt, (int)cases[i].v);
		snprintf(b, sizeof(b), cases[i].fmt, (int)cases[i].v);
		assert_string_equal(a, b);
	}
#pragma GCC diagnostic pop
	vc_snprintf(a, sizeof(a), "%llu %lld %zu", 18446744073709551615ULL,
		    (long long)INT64_MIN, (size_t)7);
	assert_string_equal(a, "18446744073709551615 -9223372036854775808 7");
	vc_snprintf(a, sizeof(a), "[%s|%6s|%-6s|%.2s|%c|%%]", "ab", "ab", "ab", "abcdef", 'z');
	assert_string_equal(a, "[ab|    ab|ab    |ab|z|%]");
	vc_snprintf(a, sizeof(a), "%*d|%.*s", 4, 7, 3, "abcdef");
	assert_string_equal(a, "   7|abc");
}

static void test_vsnprintf_truncates(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(vc_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");
	assert_int_equal(vc_snprintf(buf, 0, "abc"), 3);
	assert_int_equal(vc_snprintf(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vc_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vc_parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(vc_parse_u64("18446744073709551616", &v), -VC_ERANGE);
	assert_int_equal(vc_parse_u64("0x1F", &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(vc_parse_u64("", &v), -VC_EINVAL);
	assert_int_equal(vc_parse_u64("12a", &v), -VC_EINVAL);
	assert_int_equal(vc_parse_u64("-1", &v), -VC_EINVAL);
	assert_int_equal(vc_parse_u64("0x", &v), -VC_EINVAL);
	assert_int_equal(vc_parse_u64(NULL, &v), -VC_EINVAL);
}

static void test_parse_duration(void **state)
{
	vc_time_t t;

	(void)state;
	assert_int_equal(vc_parse_duration("10ms", 1, &t), 0);
	assert_int_equal(t, VC_MSEC(10));
	assert_int_equal(vc_parse_duration("7", VC_USEC(1), &t), 0);
	assert_int_equal(t, VC_USEC(7));
	assert_int_equal(vc_parse_duration("3s", 1, &t), 0);
	assert_int_equal(t, VC_SEC(3));
	assert_int_equal(vc_parse_duration("5us", 1, &t), 0);
	assert_int_equal(t, 5000);
	assert_int_equal(vc_parse_duration("5ns", VC_SEC(1), &t), 0);
	assert_int_equal(t, 5);
	/* Decimals, exact to the ns, in a unit or the default one. */
	assert_int_equal(vc_parse_duration("2.5ms", VC_SEC(1), &t), 0);
	assert_int_equal(t, 2500000);
	assert_int_equal(vc_parse_duration("0.000000001s", 1, &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(vc_parse_duration("1.5", VC_MSEC(1), &t), 0);
	assert_int_equal(t, 1500000);
	assert_int_equal(vc_parse_duration(".25s", 1, &t), 0);
	assert_int_equal(t, VC_MSEC(250));
	assert_int_equal(vc_parse_duration("2.", VC_MSEC(1), &t), 0);
	assert_int_equal(t, VC_MSEC(2));
	assert_int_equal(vc_parse_duration("1.0000000019s", 1, &t), 0); /* past the ns: dropped */
	assert_int_equal(t, VC_SEC(1) + 1);
	assert_int_equal(vc_parse_duration("1.5ns", 1, &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(vc_parse_duration("0.1", VC_SEC(3600), &t), 0); /* a large unit */
	assert_int_equal(t, VC_SEC(360));
	/* Not durations. */
	t = 42;
	assert_int_equal(vc_parse_duration("5m", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration(".ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration(".", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("1.2.3ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("-1ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration(" 1ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("1 ms", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("1e3", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration("0x10", 1, &t), -VC_EINVAL);
	assert_int_equal(vc_parse_duration(NULL, 1, &t), -VC_EINVAL);
	assert_int_equal(t, 42);
	/* Too long. */
	assert_int_equal(vc_parse_duration("99999999999999s", 1, &t), -VC_ERANGE);
	assert_int_equal(vc_parse_duration("18446744073.709551616s", 1, &t), -VC_ERANGE);
	assert_int_equal(vc_parse_duration("18446744073.709551615s", 1, &t), 0);
	assert_int_equal(t, UINT64_MAX);
	assert_int_equal(vc_parse_duration("99999999999999999999", 1, &t), -VC_ERANGE);
}

static void test_strings(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(vc_strlcpy(buf, "abcdef", sizeof(buf)), 6);
	assert_string_equal(buf, "abc");
	assert_true(vc_strcmp("a", "b") < 0);
	assert_int_equal(vc_strcmp("abc", "abc"), 0);
	assert_int_equal(vc_strncmp("abcx", "abcy", 3), 0);
	assert_int_equal(vc_strlen(""), 0);
	assert_string_equal(vc_strerror(-VC_ENOSPC), "no space (admission refused)");
	assert_string_equal(vc_strerror(-9999), "unknown error");
}

struct item {
	int v;
	struct vc_list node;
};

static void test_list(void **state)
{
	struct vc_list head = VC_LIST_INIT(head);
	struct item a = { 1 }, b = { 2 }, c = { 3 }, *it, *n;
	int sum = 0, order = 0;

	(void)state;
	assert_true(vc_list_empty(&head));
	vc_list_add_tail(&a.node, &head);
	vc_list_add_tail(&b.node, &head);
	vc_list_add(&c.node, &head);
	vc_list_for_each_entry(it, &head, struct item, node)
		order = order * 10 + it->v;
	assert_int_equal(order, 312);
	vc_list_for_each_entry_safe(it, n, &head, struct item, node) {
		sum += it->v;
		vc_list_del(&it->node);
	}
	assert_int_equal(sum, 6);
	assert_true(vc_list_empty(&head));
}

static void test_strbuf_and_json(void **state)
{
	struct vc_strbuf b = { 0 };
	struct vc_printer p = vc_strbuf_printer(&b);

	(void)state;
	for (int i = 0; i < 100; i++)
		vc_pr(&p, "%03d,", i);
	assert_int_equal(b.len, 400);
	assert_int_equal(strncmp(b.buf + 396, "099,", 4), 0);
	vc_strbuf_free(&b);
	p = vc_strbuf_printer(&b);
	vc_pr_json_str(&p, "plain \"q\" back\\slash \t\x01" "end");
	assert_int_equal(p.err, 0);
	assert_string_equal(b.buf, "plain \\\"q\\\" back\\\\slash \\u0009\\u0001end");
	vc_strbuf_free(&b);
}

/* A limit on a strbuf: writes past it fail and leave it as it was. */
static void test_strbuf_max(void **state)
{
	struct vc_strbuf b = { .max = 8 };
	struct vc_printer p = vc_strbuf_printer(&b);

	(void)state;
	assert_int_equal(vc_pr(&p, "12345678"), 0);
	assert_int_equal(vc_pr(&p, "9"), -VC_E2BIG);
	assert_string_equal(b.buf, "12345678");
	assert_int_equal(b.len, 8);
	vc_strbuf_free(&b);
	assert_null(b.buf);
}

static void test_utf8_seq(void **state)
{
	(void)state;
	assert_int_equal(vc_utf8_seq("a", 1), 1);
	assert_int_equal(vc_utf8_seq("", 1), 1);                  /* NUL */
	assert_int_equal(vc_utf8_seq("a", 0), 0);
	assert_int_equal(vc_utf8_seq("\xc3\xa9", 2), 2);          /* é */
	assert_int_equal(vc_utf8_seq("\xe2\x82\xac", 3), 3);      /* € */
	assert_int_equal(vc_utf8_seq("\xf0\x9f\x98\x80", 4), 4);  /* U+1F600 */
	assert_int_equal(vc_utf8_seq("\xe2\x82\xac", 2), 0);      /* cut short by n */
	assert_int_equal(vc_utf8_seq("\xe2\x82", 8), 0);          /* ... by the NUL */
	assert_int_equal(vc_utf8_seq("\x80", 1), 0);              /* continuation */
	assert_int_equal(vc_utf8_seq("\xc0\xaf", 2), 0);          /* overlong '/' */
	assert_int_equal(vc_utf8_seq("\xe0\x80\xaf", 3), 0);      /* overlong */
	assert_int_equal(vc_utf8_seq("\xed\xa0\x80", 3), 0);      /* surrogate */
	assert_int_equal(vc_utf8_seq("\xf4\x90\x80\x80", 4), 0);  /* past U+10FFFF */
	assert_int_equal(vc_utf8_seq("\xff", 1), 0);
}

/* Escaping keeps valid UTF-8 and makes anything else valid JSON. */
static void test_json_str_utf8(void **state)
{
	struct vc_strbuf b = { 0 };
	struct vc_printer p = vc_strbuf_printer(&b);

	(void)state;
	vc_pr_json_str(&p, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f");
	assert_string_equal(b.buf, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f");
	vc_strbuf_free(&b);
	p = vc_strbuf_printer(&b);
	/* A stray byte, a cut sequence, an overlong quote: one U+FFFD per byte. */
	vc_pr_json_str(&p, "a\xff" "b\xe2\x82\"c\xc0\xa2");
	assert_int_equal(p.err, 0);
	assert_string_equal(b.buf, "a\\ufffdb\\ufffd\\ufffd\\\"c\\ufffd\\ufffd");
	vc_strbuf_free(&b);
	p = vc_strbuf_printer(&b);
	vc_pr_json_str(&p, "");
	assert_int_equal(p.err, 0);
	assert_null(b.buf);
}

static void test_iommu_translate(void **state)
{
	static char ram[4096], rom[4096];
	const struct vc_iommu_region r[] = {
		{ .gpa = 0x100000, .size = sizeof(ram), .hva = ram, .writable = true },
		{ .gpa = 0x200000, .size = sizeof(rom), .hva = rom, .writable = false },
	};
	const struct vc_iommu io = { r, 2 };

	(void)state;
	assert_ptr_equal(vc_iommu_translate(&io, 0x100000, 4096, true), ram);
	assert_ptr_equal(vc_iommu_translate(&io, 0x100ff0, 16, true), ram + 0xff0);
	assert_null(vc_iommu_translate(&io, 0x100ff0, 17, true));   /* past the end */
	assert_null(vc_iommu_translate(&io, 0xfffff, 2, false));    /* before */
	assert_null(vc_iommu_translate(&io, 0x100000, 0, false));   /* empty */
	assert_null(vc_iommu_translate(&io, 0x100010, UINT64_MAX, false)); /* wraps */
	assert_null(vc_iommu_translate(&io, UINT64_MAX, 2, false));
	assert_ptr_equal(vc_iommu_translate(&io, 0x200000, 8, false), rom);
	assert_null(vc_iommu_translate(&io, 0x200000, 8, true));    /* read-only */
	assert_null(vc_iommu_translate(NULL, 0x100000, 8, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsnprintf_matches_libc),
		cmocka_unit_test(test_vsnprintf_truncates),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_strbuf_and_json),
		cmocka_unit_test(test_strbuf_max),
		cmocka_unit_test(test_utf8_seq),
		cmocka_unit_test(test_json_str_utf8),
		cmocka_unit_test(test_iommu_translate),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
