// SPDX-License-Identifier: MIT
/*
 * xl.cfg reader: what valid files turn into, and the exact message for
 * each kind of invalid one (table-driven).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/errno.h>

#include "xlcfg.h"

static struct xlcfg *parse_ok(const char *text)
{
	char err[XLCFG_ERR_MAX] = "";
	struct xlcfg *cfg = NULL;
	int r = xlcfg_parse(text, strlen(text), "t.cfg", &cfg, err, sizeof(err));

	if (r)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, 0);
	assert_non_null(cfg);
	return cfg;
}

static const struct xlcfg_value *get(const struct xlcfg *cfg, const char *key)
{
	const struct xlcfg_setting *s = xlcfg_find(cfg, key);

	assert_non_null(s);
	return s->value;
}

static void test_basic(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"# a domain\n"
		"name = \"dom1\"\n"
		"memory = 64\n"
		"vcpus = 0x10 # hex\n"
		"kernel = '/boot/guest.elf'\n");
	const struct xlcfg_value *v;

	assert_int_equal(cfg->nr_settings, 4);
	v = get(cfg, "name");
	assert_int_equal(v->type, XLCFG_STRING);
	assert_string_equal(v->str, "dom1");
	assert_int_equal(v->pos.line, 2);
	assert_int_equal(v->pos.col, 8);
	assert_true(v->verbatim);
	v = get(cfg, "memory");
	assert_int_equal(v->type, XLCFG_NUMBER);
	assert_int_equal(v->num, 64);
	assert_string_equal(v->str, "64");
	v = get(cfg, "vcpus");
	assert_int_equal(v->num, 16);
	assert_string_equal(v->str, "0x10");
	assert_string_equal(get(cfg, "kernel")->str, "/boot/guest.elf");
	assert_int_equal(cfg->settings[3].pos.line, 5);
	assert_int_equal(cfg->settings[3].pos.col, 1);
	assert_int_equal(cfg->end.line, 6);
	assert_int_equal(cfg->end.col, 1);
	assert_null(xlcfg_find(cfg, "extra"));
	xlcfg_free(cfg);
}

static void test_lists(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"vcoproc = [ \"gpu0\",\n"
		"            'gpu1,weight=512',   # second\n"
		"\n"
		"          ]\n"
		"empty = []\n"
		"nested = [ [1, 2], [], [ \"x\" ] ]\n"
		"flat = [1,2,3,]\n");
	const struct xlcfg_value *v = get(cfg, "vcoproc");

	assert_int_equal(v->type, XLCFG_LIST);
	assert_int_equal(v->nr_items, 2);
	assert_string_equal(v->items[0]->str, "gpu0");
	assert_string_equal(v->items[1]->str, "gpu1,weight=512");
	assert_int_equal(v->items[1]->pos.line, 2);
	assert_int_equal(v->items[1]->pos.col, 13);
	assert_int_equal(get(cfg, "empty")->nr_items, 0);
	v = get(cfg, "nested");
	assert_int_equal(v->nr_items, 3);
	assert_int_equal(v->items[0]->nr_items, 2);
	assert_int_equal(v->items[0]->items[1]->num, 2);
	assert_int_equal(v->items[1]->nr_items, 0);
	assert_string_equal(v->items[2]->items[0]->str, "x");
	assert_int_equal(get(cfg, "flat")->nr_items, 3);
	xlcfg_free(cfg);
}

static void test_escapes(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"a = \"tab\\there \\\"q\\\" back\\\\slash \\x41\\102\\n\"\n"
		"b = 'no \\escapes \"here\"'\n"
		"c = \"\"\n");
	const struct xlcfg_value *v = get(cfg, "a");

	assert_string_equal(v->str, "tab\there \"q\" back\\slash AB\n");
	assert_false(v->verbatim);
	assert_string_equal(get(cfg, "b")->str, "no \\escapes \"here\"");
	assert_true(get(cfg, "b")->verbatim);
	assert_int_equal(get(cfg, "c")->len, 0);
	xlcfg_free(cfg);
}

static void test_separators(void **state)
{
	/* ';' separates, CR LF is a newline, the last line needs no newline. */
	struct xlcfg *cfg = parse_ok("a = 1; b = 2;;\r\n\r\n c=3 ;\r\nd = \"x\"");

	assert_int_equal(cfg->nr_settings, 4);
	assert_int_equal(get(cfg, "c")->num, 3);
	assert_string_equal(get(cfg, "d")->str, "x");
	xlcfg_free(cfg);

	cfg = parse_ok("");
	assert_int_equal(cfg->nr_settings, 0);
	xlcfg_free(cfg);
	cfg = parse_ok("\n\n# only a comment");
	assert_int_equal(cfg->nr_settings, 0);
	xlcfg_free(cfg);
}

static void test_last_wins_and_append(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"memory = 32\n"
		"memory = 64\n"
		"extra = \"a\"\n"
		"extra += \" b\"\n"
		"l = [1]\n"
		"l += [2, 3]\n"
		"new += \"fresh\"\n");

	assert_int_equal(get(cfg, "memory")->num, 64);
	assert_int_equal(xlcfg_find(cfg, "memory")->pos.line, 2);
	assert_string_equal(get(cfg, "extra")->str, "a b");
	assert_false(get(cfg, "extra")->verbatim);
	assert_true(xlcfg_find(cfg, "extra")->append);
	assert_int_equal(get(cfg, "l")->nr_items, 3);
	assert_int_equal(get(cfg, "l")->items[2]->num, 3);
	assert_string_equal(get(cfg, "new")->str, "fresh");
	xlcfg_free(cfg);
}

static void test_big_numbers(void **state)
{
	struct xlcfg *cfg = parse_ok("a = 18446744073709551615\nb = 0xffffffffffffffff\n");

	assert_true(get(cfg, "a")->num == UINT64_MAX);
	assert_true(get(cfg, "b")->num == UINT64_MAX);
	xlcfg_free(cfg);
}

/* ---- invalid files: the exact message ------------------------------------ */

struct bad_case {
	const char *text;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "= 3\n", "t.cfg:1:1: expected a setting name, found '='" },
	{ "name \"x\"\n", "t.cfg:1:6: expected '=' or '+=', found string \"x\"" },
	{ "name =\n", "t.cfg:1:7: expected a value (a string, a number or a list), found end of line" },
	{ "name = ", "t.cfg:1:8: expected a value (a string, a number or a list), found end of file" },
	{ "name = foo\n", "t.cfg:1:8: expected a value (a string, a number or a list), found name \"foo\"" },
	{ "a = 1 2\n", "t.cfg:1:7: expected end of line or ';', found number 2" },
	{ "a = \"x\" b = 2\n", "t.cfg:1:9: expected end of line or ';', found name \"b\"" },
	{ "a = \"unterminated\nb = 1\n", "t.cfg:1:18: expected a closing '\"', found end of line" },
	{ "a = 'open", "t.cfg:1:10: expected a closing \"'\", found end of file" },
	{ "a = \"bad \\q escape\"\n",
	  "t.cfg:1:10: expected an escape sequence (\\n, \\t, \\\", \\\\, \\xHH, ...), found \"\\q\"" },
	{ "a = \"\\x4\"\n", "t.cfg:1:6: expected two hex digits after \"\\x\", found \"x4\"" },
	{ "a = \"\\x00\"\n", "t.cfg:1:6: expected a character other than NUL, found \"\\x00\"" },
	{ "a = \"\\0\"\n", "t.cfg:1:6: expected an octal character code from 1 to 377, found \"\\0\"" },
	{ "a = 12abc\n", "t.cfg:1:5: expected a number, found \"12abc\"" },
	{ "a = 0x\n", "t.cfg:1:5: expected a number, found \"0x\"" },
	{ "a = 1.5\n", "t.cfg:1:5: expected a number, found \"1.5\"" },
	{ "a = 18446744073709551616\n",
	  "t.cfg:1:5: expected a number below 2^64, found 18446744073709551616" },
	{ "a = [ 1, 2\n", "t.cfg:2:1: expected ',' or ']', found end of file" },
	{ "a = [ 1 2 ]\n", "t.cfg:1:9: expected ',' or ']', found number 2" },
	{ "a = [ , ]\n", "t.cfg:1:7: expected a value or ']', found ','" },
	{ "a = [ 1,, ]\n", "t.cfg:1:9: expected a value or ']', found ','" },
	{ "a = ]\n", "t.cfg:1:5: expected a value (a string, a number or a list), found ']'" },
	{ "a = [[[[[[[[[1]]]]]]]]]\n",
	  "t.cfg:1:13: expected lists nested at most 8 deep, found another '['" },
	{ "a = @\n", "t.cfg:1:5: expected a value (a string, a number or a list), found '@'" },
	{ "a = 1 +\n", "t.cfg:1:7: expected end of line or ';', found '+'" },
	{ "\xc3\xa9t\xc3\xa9 = 1\n", "t.cfg:1:1: expected a setting name, found byte 0xc3" },
	{ "1 = 2\n", "t.cfg:1:1: expected a setting name, found number 1" },
	{ "name = \"dom1\"\n\n  [ 1 ]\n", "t.cfg:3:3: expected a setting name, found '['" },
	{ "a = 3\na += 4\n", "t.cfg:2:6: expected a string or a list after '+=', found number 4" },
	{ "a = \"x\"\na += [ 1 ]\n",
	  "t.cfg:2:6: expected a string to add to \"a\" (set at 1:5), found list of 1" },
	{ "a = [ \"x\" ]\na += \"y\"\n",
	  "t.cfg:2:6: expected a list to add to \"a\" (set at 1:5), found string \"y\"" },
	{ "a\t=\t\"tab\"\tb\n", "t.cfg:1:11: expected end of line or ';', found name \"b\"" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[XLCFG_ERR_MAX] = "";
		struct xlcfg *cfg = (struct xlcfg *)1;
		int r = xlcfg_parse(c->text, strlen(c->text), "t.cfg", &cfg, err, sizeof(err));

		if (r != -VC_EINVAL || strcmp(err, c->msg))
			print_error("case %zu: r=%d\n  got:  %s\n  want: %s\n", i, r, err, c->msg);
		assert_int_equal(r, -VC_EINVAL);
		assert_null(cfg);
		assert_string_equal(err, c->msg);
	}
}

static void test_nul_and_size(void **state)
{
	static const char nul_text[] = "a = 1\nb = \"x\0y\"\n";
	static const char nul_key[] = "a = 1\n\0";
	char err[XLCFG_ERR_MAX];
	struct xlcfg *cfg;
	static char big[XLCFG_MAX_TEXT + 2];

	assert_int_equal(xlcfg_parse(nul_text, sizeof(nul_text) - 1, "t.cfg", &cfg, err,
				     sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "t.cfg:2:7: expected a closing '\"', found byte 0x00");
	assert_int_equal(xlcfg_parse(nul_key, sizeof(nul_key) - 1, "t.cfg", &cfg, err,
				     sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "t.cfg:2:1: expected a setting name, found byte 0x00");

	memset(big, '\n', sizeof(big));
	assert_int_equal(xlcfg_parse(big, sizeof(big), "big.cfg", &cfg, err, sizeof(err)),
			 -VC_E2BIG);
	assert_string_equal(err, "big.cfg:1:1: expected at most 1048576 bytes, found 1048578");
	/* Exactly the limit is fine. */
	assert_int_equal(xlcfg_parse(big, XLCFG_MAX_TEXT, "big.cfg", &cfg, err, sizeof(err)), 0);
	xlcfg_free(cfg);
}

static void test_long_string_shown_short(void **state)
{
	char text[256], err[XLCFG_ERR_MAX];
	struct xlcfg *cfg;

	snprintf(text, sizeof(text), "a = 1 \"%s\"\n",
		 "0123456789012345678901234567890123456789-tail-not-shown");
	assert_int_equal(xlcfg_parse(text, strlen(text), "t.cfg", &cfg, err, sizeof(err)),
			 -VC_EINVAL);
	assert_string_equal(err, "t.cfg:1:7: expected end of line or ';', found string "
			    "\"0123456789012345678901234567890123456789...\"");
}

static void test_small_error_buffer(void **state)
{
	char err[16];
	struct xlcfg *cfg;

	/* Cut short, always terminated. */
	assert_int_equal(xlcfg_parse("= 1", 3, "t.cfg", &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(xlcfg_parse("= 1", 3, "t.cfg", &cfg, NULL, 0), -VC_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_last_wins_and_append),
		cmocka_unit_test(test_big_numbers),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_long_string_shown_short),
		cmocka_unit_test(test_small_error_buffer),
	};

	return cmocka_run_group_tests_name("xlcfg", tests, NULL, NULL);
}
