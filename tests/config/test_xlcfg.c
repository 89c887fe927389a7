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

/* @key's value read as xl's xlu_cfg_get_long() reads it; must succeed. */
static long num(const struct xlcfg *cfg, const char *key)
{
	const struct xlcfg_setting *s = xlcfg_find(cfg, key);
	long n = -1;

	assert_non_null(s);
	assert_int_equal(xlcfg_long(s, &n), 0);
	return n;
}

static long item_num(const struct xlcfg_value *v)
{
	long n = -1;

	assert_int_equal(xlcfg_value_long(v, &n), 0);
	return n;
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
	assert_int_equal(num(cfg, "memory"), 64);
	assert_string_equal(v->str, "64");
	v = get(cfg, "vcpus");
	assert_int_equal(num(cfg, "vcpus"), 16);
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
	assert_int_equal(item_num(v->items[0]->items[1]), 2);
	assert_int_equal(v->items[1]->nr_items, 0);
	assert_string_equal(v->items[2]->items[0]->str, "x");
	assert_int_equal(get(cfg, "flat")->nr_items, 3);
	xlcfg_free(cfg);
}

static void test_escapes(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"a = \"tab\\there \\\"q\\\" back\\\\slash \\a\\b\\f\\r\\v\\'\\n\"\n"
		"b = 'single \\'quoted\\' \\t \"here\"'\n"
		"c = \"\"\n"
		"d = 'plain'\n");
	const struct xlcfg_value *v = get(cfg, "a");

	assert_string_equal(v->str, "tab\there \"q\" back\\slash \a\b\f\r\v'\n");
	assert_false(v->verbatim);
	/* As in xl, single-quoted strings take the same escapes. */
	assert_string_equal(get(cfg, "b")->str, "single 'quoted' \t \"here\"");
	assert_false(get(cfg, "b")->verbatim);
	assert_int_equal(get(cfg, "c")->len, 0);
	assert_true(get(cfg, "d")->verbatim);
	xlcfg_free(cfg);
}

static void test_separators(void **state)
{
	/* ';' separates, the last line needs no newline. */
	struct xlcfg *cfg = parse_ok("a = 1; b = 2;;\n\n c=3 ;\nd = \"x\"");

	assert_int_equal(cfg->nr_settings, 4);
	assert_int_equal(num(cfg, "c"), 3);
	assert_string_equal(get(cfg, "d")->str, "x");
	xlcfg_free(cfg);

	cfg = parse_ok("");
	assert_int_equal(cfg->nr_settings, 0);
	xlcfg_free(cfg);
	cfg = parse_ok("\n\n# only a comment\n");
	assert_int_equal(cfg->nr_settings, 0);
	xlcfg_free(cfg);
}

/* Keys as xl spells them: lower case, digits, '.', '_'. */
static void test_keys(void **state)
{
	struct xlcfg *cfg = parse_ok("device.model_1 = 1\nx = 2\na.b.c += \"s\"\n");

	assert_int_equal(num(cfg, "device.model_1"), 1);
	assert_string_equal(get(cfg, "a.b.c")->str, "s");
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
		"new += \"fresh\"\n"
		"n = 1\n"
		"n += 2\n"
		"m += 5\n");
	long x = 0;

	assert_int_equal(num(cfg, "memory"), 64);
	assert_int_equal(xlcfg_find(cfg, "memory")->pos.line, 2);
	assert_string_equal(get(cfg, "extra")->str, "a b");
	assert_false(get(cfg, "extra")->verbatim);
	assert_true(xlcfg_find(cfg, "extra")->append);
	assert_int_equal(get(cfg, "l")->nr_items, 3);
	assert_int_equal(item_num(get(cfg, "l")->items[2]), 3);
	assert_string_equal(get(cfg, "new")->str, "fresh");
	/* Numbers are text to '+=' and xl reads no number from what it built. */
	assert_string_equal(get(cfg, "n")->str, "12");
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "n"), &x), -VC_EINVAL);
	assert_string_equal(get(cfg, "m")->str, "5");
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "m"), &x), -VC_EINVAL);
	xlcfg_free(cfg);
}

/* Numbers are read as xl reads them: strtol() in base 0 over the whole text. */
static void test_numbers(void **state)
{
	struct xlcfg *cfg = parse_ok(
		"oct = 010\n"
		"hex = 0x1f\n"
		"zero = 0\n"
		"max = 9223372036854775807\n"
		"over = 9223372036854775808\n"
		"bad8 = 08\n"
		"word = 1abc\n"
		"x = 0x\n"
		"s = \"64\"\n"
		"neg = \" -0x10\"\n"
		"plus = '+7'\n"
		"trail = \"5 \"\n"
		"empty = \"\"\n"
		"l = [ 1 ]\n");
	long n = 0;

	assert_int_equal(num(cfg, "oct"), 8);
	assert_int_equal(num(cfg, "hex"), 31);
	assert_int_equal(num(cfg, "zero"), 0);
	assert_true(num(cfg, "max") == 9223372036854775807L);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "over"), &n), -VC_ERANGE);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "bad8"), &n), -VC_EINVAL);
	/* Still a value: its text is what xl's xlu_cfg_get_string() gives. */
	assert_int_equal(get(cfg, "word")->type, XLCFG_NUMBER);
	assert_string_equal(get(cfg, "word")->str, "1abc");
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "word"), &n), -VC_EINVAL);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "x"), &n), -VC_EINVAL);
	assert_int_equal(num(cfg, "s"), 64);
	assert_int_equal(num(cfg, "neg"), -16);
	assert_int_equal(num(cfg, "plus"), 7);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "trail"), &n), -VC_EINVAL);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "empty"), &n), -VC_EINVAL);
	assert_int_equal(xlcfg_long(xlcfg_find(cfg, "l"), &n), -VC_EINVAL);
	xlcfg_free(cfg);
}

/* Lists nest as deep as XLCFG_MAX_DEPTH, without recursion. */
static void test_deep_lists(void **state)
{
	static char text[2 * XLCFG_MAX_DEPTH + 16];
	char err[XLCFG_ERR_MAX];
	const struct xlcfg_value *v;
	struct xlcfg *cfg;
	size_t o = 0;

	o += (size_t)sprintf(text, "a = ");
	memset(text + o, '[', XLCFG_MAX_DEPTH);
	memset(text + o + XLCFG_MAX_DEPTH, ']', XLCFG_MAX_DEPTH);
	o += 2 * XLCFG_MAX_DEPTH;
	cfg = parse_ok(text);
	v = get(cfg, "a");
	for (unsigned int i = 1; i < XLCFG_MAX_DEPTH; i++) {
		assert_int_equal(v->type, XLCFG_LIST);
		assert_int_equal(v->nr_items, 1);
		v = v->items[0];
	}
	assert_int_equal(v->nr_items, 0);
	xlcfg_free(cfg);

	memmove(text + 5, text + 4, o - 4);
	text[4] = '[';
	text[o + 1] = ']';
	assert_int_equal(xlcfg_parse(text, o + 2, "t.cfg", &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_non_null(strstr(err, "t.cfg:1:1029: expected lists nested at most 1024 deep"));
	assert_non_null(strstr(err, "not supported"));
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
	  "t.cfg:1:10: expected an escape sequence (\\n, \\t, \\\", \\\\, ...), found \"\\q\"" },
	{ "a = \"\\x41\"\n", "t.cfg:1:6: expected an escape sequence xl reads (\\n, \\t, \\\", "
	  "\\\\, ...), found \"\\x\" (xl refuses every \\xHH escape)" },
	{ "a = '\\101'\n", "t.cfg:1:6: expected an escape sequence xl reads (\\n, \\t, \\\", "
	  "\\\\, ...), found \"\\1\": octal escapes are not supported (xl refuses some and "
	  "drops the character of the others)" },
	{ "a = \"x\\\ny\"\n",
	  "t.cfg:1:7: expected an escape sequence, found end of line (a string ends on its line)" },
	{ "a = 1.5\n", "t.cfg:1:6: expected end of line or ';', found '.'" },
	{ "a = 0X10\n", "t.cfg:1:6: expected end of line or ';', found 'X'" },
	{ "a = 0xAB\n", "t.cfg:1:7: expected end of line or ';', found 'A'" },
	{ "a = 12g\n", "t.cfg:1:7: expected end of line or ';', found name \"g\"" },
	{ "a = -1\n", "t.cfg:1:5: expected a value (a string, a number or a list), found '-'" },
	{ "Name = 1\n", "t.cfg:1:1: expected a setting name, found 'N' (xl takes names in "
	  "[a-z][a-z0-9._]* only)" },
	{ "_a = 1\n", "t.cfg:1:1: expected a setting name, found '_' (xl takes names in "
	  "[a-z][a-z0-9._]* only)" },
	{ "a = 1\r\n", "t.cfg:1:6: expected end of line or ';', found a carriage return "
	  "(xl takes \"\\n\" line ends only)" },
	{ "a = 1 # no newline", "t.cfg:1:19: expected a newline at the end of the comment, "
	  "found end of file (xl needs one)" },
	{ "a = 1 @", "t.cfg:1:7: expected a token or end of file, found '@' as the last byte: "
	  "a stray last byte is not supported (xl 4.17 ignores one, a flaw of its lexer)" },
	{ "a = 1\n#", "t.cfg:2:1: expected a token or end of file, found '#' as the last byte: "
	  "a stray last byte is not supported (xl 4.17 ignores one, a flaw of its lexer)" },
	{ "a = [ 1, 2\n", "t.cfg:2:1: expected ',' or ']', found end of file" },
	{ "a = [ 1 2 ]\n", "t.cfg:1:9: expected ',' or ']', found number 2" },
	{ "a = [ , ]\n", "t.cfg:1:7: expected a value or ']', found ','" },
	{ "a = [ 1,, ]\n", "t.cfg:1:9: expected a value or ']', found ','" },
	{ "a = ]\n", "t.cfg:1:5: expected a value (a string, a number or a list), found ']'" },
	{ "a = @\n", "t.cfg:1:5: expected a value (a string, a number or a list), found '@'" },
	{ "a = 1 +\n", "t.cfg:1:7: expected end of line or ';', found '+'" },
	{ "\xc3\xa9t\xc3\xa9 = 1\n", "t.cfg:1:1: expected a setting name, found byte 0xc3" },
	{ "1 = 2\n", "t.cfg:1:1: expected a setting name, found number 1" },
	{ "name = \"dom1\"\n\n  [ 1 ]\n", "t.cfg:3:3: expected a setting name, found '['" },
	{ "a = \"x\"\na += [ 1 ]\n",
	  "t.cfg:2:6: expected a string or a number to add to \"a\" (set at 1:5), found list of 1" },
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
	static const char nul_comment[] = "a = 1 # x\0y\n";
	char err[XLCFG_ERR_MAX];
	struct xlcfg *cfg;
	static char big[XLCFG_MAX_TEXT + 2];

	assert_int_equal(xlcfg_parse(nul_text, sizeof(nul_text) - 1, "t.cfg", &cfg, err,
				     sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "t.cfg:2:7: expected text, found byte 0x00: NUL bytes are not "
			    "supported (xl skips them in comments; vcoproc sends the file to its "
			    "daemon as JSON text, which cannot hold them)");
	assert_int_equal(xlcfg_parse(nul_key, sizeof(nul_key) - 1, "t.cfg", &cfg, err,
				     sizeof(err)), -VC_EINVAL);
	assert_non_null(strstr(err, "t.cfg:2:1: expected text, found byte 0x00"));
	assert_int_equal(xlcfg_parse(nul_comment, sizeof(nul_comment) - 1, "t.cfg", &cfg, err,
				     sizeof(err)), -VC_EINVAL);
	assert_non_null(strstr(err, "t.cfg:1:10: expected text, found byte 0x00"));

	memset(big, '\n', sizeof(big));
	assert_int_equal(xlcfg_parse(big, sizeof(big), "big.cfg", &cfg, err, sizeof(err)),
			 -VC_E2BIG);
	assert_string_equal(err, "big.cfg:1:1: expected at most 1048576 bytes, found 1048578: "
			    "longer files are not supported (xl has no bound; vcoproc bounds "
			    "untrusted input)");
	/* Exactly the limit is fine. */
	assert_int_equal(xlcfg_parse(big, XLCFG_MAX_TEXT, "big.cfg", &cfg, err, sizeof(err)), 0);
	xlcfg_free(cfg);
}

/*
 * UTF-8 anywhere; other bytes get a located error here rather than a JSON
 * error in the daemon.
 */
static void test_utf8_and_nul(void **state)
{
	static const struct {
		const char *text, *where;
	} bad[] = {
		{ "# caf\xe9\nname = \"x\"\n", "t.cfg:1:6: expected UTF-8 text, found byte 0xe9" },
		{ "name = \"x\"\nextra = \"\xff\"\n", "t.cfg:2:10: expected UTF-8 text, found byte 0xff" },
		{ "a = '\xc0\xaf'\n", "t.cfg:1:6: expected UTF-8 text, found byte 0xc0" },     /* overlong */
		{ "a = '\xed\xa0\x80'\n", "t.cfg:1:6: expected UTF-8 text, found byte 0xed" }, /* surrogate */
		{ "a = '\xf4\x90\x80\x80'\n", "t.cfg:1:6: expected UTF-8 text, found byte 0xf4" },
		{ "a = 'x\xe2\x82'\n", "t.cfg:1:7: expected UTF-8 text, found byte 0xe2" },  /* cut short */
	};
	char err[XLCFG_ERR_MAX];
	struct xlcfg *cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xlcfg_parse(bad[i].text, strlen(bad[i].text), "t.cfg", &cfg, err,
					     sizeof(err)), -VC_EINVAL);
		if (!strstr(err, bad[i].where))
			print_error("case %zu: %s\n", i, err);
		assert_non_null(strstr(err, bad[i].where));
		assert_non_null(strstr(err, "not supported"));
	}
	cfg = parse_ok("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\nname = '\xc3\xa9t\xc3\xa9'\n");
	assert_string_equal(get(cfg, "name")->str, "\xc3\xa9t\xc3\xa9");
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
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_deep_lists),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_utf8_and_nul),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_long_string_shown_short),
		cmocka_unit_test(test_small_error_buffer),
	};

	return cmocka_run_group_tests_name("xlcfg", tests, NULL, NULL);
}
