// SPDX-License-Identifier: MIT
/*
 * The xl.cfg reader against Xen's own: libxlutil (Debian's libxen-dev,
 * xl 4.17), over a corpus of valid and invalid snippets - hand-written
 * edge cases, snippets generated from a seeded random source, and
 * mutations of the valid ones.  For each snippet:
 *
 *   - xl reads it: vcoproc reads it too, and every key has the same value
 *     as xl gives it (xlu_cfg_get_string(), xlu_cfg_get_long(), list
 *     items at every depth); or vcoproc refuses it, located
 *     (FILE:LINE:COL), with a message that says what is "not supported";
 *   - xl refuses it (or dies on it): vcoproc refuses it too, located.
 *
 * xl runs in a child process per snippet: libxlutil asserts on a NUL
 * inside a string.  XLCFG_DIFF_SEED=N picks another generated corpus;
 * XLCFG_DIFF_VERBOSE=1 prints every snippet's outcome.
 *
 * Without libxlutil the program says so and exits 77 (skipped).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "xlcfg.h"

#if HAVE_XLUTIL

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxlutil.h>

/* ---- a growing buffer ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void buf_byte(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* ---- the corpus ------------------------------------------------------------- */

struct snippet {
	char *text;
	size_t len;
	char origin[48];
};

static struct snippet *corpus;
static size_t nr_corpus, cap_corpus;

static void add_snippet(const char *text, size_t len, const char *origin)
{
	struct snippet *s;

	if (nr_corpus == cap_corpus) {
		cap_corpus = cap_corpus ? cap_corpus * 2 : 256;
		corpus = realloc(corpus, cap_corpus * sizeof(*corpus));
		if (!corpus)
			exit(1);
	}
	s = &corpus[nr_corpus++];
	s->text = malloc(len + 1);
	if (!s->text)
		exit(1);
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->len = len;
	snprintf(s->origin, sizeof(s->origin), "%s", origin);
}

#define T(s) { s, sizeof(s) - 1 }

/* Hand-written: every corner of the syntax that a review or a bug found. */
static const struct {
	const char *text;
	size_t len;
} hand[] = {
	/* Numbers in every base, signs, overflow. */
	T("a = 0\n"), T("a = 7\n"), T("a = 010\n"), T("a = 0777\n"), T("a = 08\n"), T("a = 09\n"),
	T("a = 0x10\n"), T("a = 0xff\n"), T("a = 0xFF\n"), T("a = 0X10\n"), T("a = 0x\n"),
	T("a = 0xx1\n"), T("a = 00\n"), T("a = 1e5\n"), T("a = 12abc\n"), T("a = 1f\n"),
	T("a = 12g\n"), T("a = 1.5\n"), T("a = -1\n"), T("a = +1\n"), T("a = - 1\n"),
	T("a = 9223372036854775807\n"), T("a = 9223372036854775808\n"),
	T("a = 18446744073709551615\n"), T("a = 99999999999999999999999\n"),
	T("a = 0x7fffffffffffffff\n"), T("a = 0x8000000000000000\n"),
	T("a = 01777777777777777777777\n"), T("a = 02000000000000000000000\n"),
	T("a = \"64\"\n"), T("a = \" 64\"\n"), T("a = \"64 \"\n"), T("a = \"-64\"\n"),
	T("a = '+0x10'\n"), T("a = \"010\"\n"), T("a = \"\"\n"), T("a = \"0x\"\n"),
	T("a = \"\\t12\"\n"), T("a = \"\\n-0\"\n"), T("a = '- 1'\n"),
	T("a = \"-9223372036854775808\"\n"), T("a = \"-9223372036854775809\"\n"),
	/* Strings and every escape. */
	T("a = \"plain\"\n"), T("a = 'plain'\n"), T("a = ''\n"),
	T("a = \"\\\"\\'\\\\\\a\\b\\f\\n\\r\\t\\v\"\n"), T("a = '\\\"\\'\\\\\\a\\b\\f\\n\\r\\t\\v'\n"),
	T("a = 'a\\nb'\n"), T("a = \"a\\nb\"\n"), T("a = 'it\\'s'\n"), T("a = \"say \\\"hi\\\"\"\n"),
	T("a = \"'\"\n"), T("a = '\"'\n"), T("a = \"\\x41\"\n"), T("a = \"\\x4\"\n"),
	T("a = \"\\x414\"\n"), T("a = \"\\xg\"\n"), T("a = \"\\101\"\n"), T("a = \"x\\101y\"\n"),
	T("a = \"\\1\"\n"), T("a = \"\\12\"\n"), T("a = \"\\0\"\n"), T("a = \"\\00\"\n"),
	T("a = \"\\000\"\n"), T("a = \"\\7 23\"\n"), T("a = \"\\1-5x\"\n"), T("a = \"\\18\"\n"),
	T("a = \"\\q\"\n"), T("a = \"\\ \"\n"), T("a = \"\\#\"\n"), T("a = \"\\\"\n"),
	T("a = \"x\\\ny\"\n"), T("a = \"unterminated\n"), T("a = 'unterminated\n"),
	T("a = \"tab\there\"\n"), T("a = \"cr\rhere\"\n"), T("a = \"ctl\x01\x1f\x7f\"\n"),
	T("a = \"# not a comment\"\n"), T("a = \"x\" \"y\"\n"), T("a = \"x\"'y'\n"),
	/* Comments, blank space, line ends. */
	T("# comment\na = 1\n"), T("a = 1 # comment\n"), T("a = 1# comment\n"),
	T("a = [1, # c\n 2]\n"), T("# only\n"), T("# no newline"), T("a = 1\n# no newline"),
	T("\n\n\n"), T(""), T(" \t \n"), T("a=1"), T("a = 1"), T("a = \"x\""), T("a = [1]"),
	T("a = 1\r\n"), T("a = 1\rb = 2\n"), T("\ra = 1\n"), T("a = 1 \\\n"), T("a = \\\n1\n"),
	T("a = 1;b = 2\n"), T("a = 1; b = 2;\n"), T(";;;\n"), T("a = 1;;\n"), T("a = 1 b = 2\n"),
	T("a = 1\fb = 2\n"), T("\va = 1\n"), T("a =\n1\n"), T("a\n= 1\n"), T("a = \n"),
	T("a =\t\t1\t\n"),
	/* Lists. */
	T("a = []\n"), T("a = [ ]\n"), T("a = [\n]\n"), T("a = [,]\n"), T("a = [1,]\n"),
	T("a = [1,,]\n"), T("a = [1 2]\n"), T("a = [1,\n\n 2,\n]\n"), T("a = [\n1\n,\n2\n]\n"),
	T("a = [[]]\n"), T("a = [[1, 2], [], [\"x\", ['y']]]\n"), T("a = [[[[[[[[[1]]]]]]]]]\n"),
	T("a = [1, [2, [3, [4, [5, [6, [7, [8, [9, [10]]]]]]]]]]\n"), T("a = [1\n"),
	T("a = ]\n"), T("a = [1]]\n"), T("a = [ # c\n # d\n 1 # e\n , # f\n ]\n"),
	T("a = [\"gpu0\", 'gpu1,weight=512',\n      ]\n"),
	/* '+=', duplicates, keys. */
	T("a = \"x\"\na += \"y\"\n"), T("a += \"y\"\n"), T("a = 1\na += 2\n"), T("a += 5\n"),
	T("a = \"x\"\na += 1\n"), T("a = 1\na += \"x\"\n"), T("a = [1]\na += [2, 3]\n"),
	T("a = [1]\na += [2]\na += [[3]]\n"), T("a = [1]\na += 2\n"), T("a = \"x\"\na += [1]\n"),
	T("a = 1\na = 2\n"), T("a = [1]\na = \"x\"\n"), T("a = 1\nb = 2\na += \"3\"\n"),
	T("a = [1]\na = [2]\na += [3]\n"), T("a =+ 1\n"), T("a + = 1\n"), T("a ++= 1\n"),
	T("a.b = 1\n"), T("a.b.c = 1\n"), T("a..b = 1\n"), T("a. = 1\n"), T(".a = 1\n"),
	T("a_b = 1\n"), T("_a = 1\n"), T("A = 1\n"), T("aB = 1\n"), T("a-b = 1\n"), T("a9 = 1\n"),
	T("9a = 1\n"), T("a = b\n"), T("= 1\n"), T("a 1\n"), T("a == 1\n"), T("a : 1\n"),
	T("device_model_args = [\"-x\"]\ndevice_model_args += [\"-y\"]\n"),
	/* Python that xl warns about. */
	T("a = (1, 2)\n"), T("a = 'x' + 'y'\n"), T("import os\n"), T("a = 1:2\n"),
	/* Non-ASCII, non-UTF-8, NUL. */
	T("a = \"caf\xc3\xa9\"\n"), T("a = '\xe2\x82\xac \xf0\x9f\x98\x80'\n"),
	T("# caf\xc3\xa9\na = 1\n"), T("# caf\xe9\na = 1\n"), T("a = \"caf\xe9\"\n"),
	T("a = '\xff'\n"), T("a = '\xc0\xaf'\n"), T("a = '\xed\xa0\x80'\n"),
	T("a = '\xf4\x90\x80\x80'\n"), T("a = 'x\xe2\x82'\n"), T("\xc3\xa9 = 1\n"),
	T("a = \xc3\xa9\n"), T("\xef\xbb\xbf" "a = 1\n"), T("a = 1 # x\0y\n"),
	T("a = \"x\0y\"\n"), T("a = 1\n\0"), T("\0"), T("a = 1\0\n"),
	/* Real files. */
	T("name = \"dom1\"\nkernel = \"builtin:compute\"\nmemory = 64\n"
	  "vcoproc = [ \"gpu0,weight=256\",\n            \"gpu1\",\n          ]\n"),
	T("# xl.cfg\nname='hvm1'\ntype='hvm'\nmemory=2048\nvcpus=2\n"
	  "disk=['phy:/dev/vg/hvm1,xvda,w']\nvif=['bridge=xenbr0,mac=00:16:3e:00:00:01']\n"
	  "on_crash='restart'\nextra='console=hvc0'\nextra+=' quiet'\n"),
};

/* A small deterministic random source (xorshift64*). */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(rng() % n);
}

#define PICK(a) ((a)[pick(sizeof(a) / sizeof((a)[0]))])

static const char *const g_keys[] = {
	"a", "memory", "name", "b.c", "x_1", "a9", "dev.model.args", "z", "a", "memory",
	"Abc", "_x", "1a", "a-b", "a.", "x..y",
};
static const char *const g_ops[] = { "=", "=", "=", "+=", "+=", "==", ":", "", "= =" };
static const char *const g_blank[] = { "", " ", "  ", "\t", " \t " };
static const char *const g_numbers[] = {
	"0", "1", "64", "010", "0777", "08", "0x10", "0xff", "0x", "00", "1e5", "12abc",
	"9223372036854775807", "9223372036854775808", "99999999999999999999", "0xffffffff",
	"0xFF", "0X1", "-5", "+5", "1.5", "0b101", "1f", "0x7fffffffffffffff",
};
static const char *const g_string_parts[] = {
	"a", "b", "gpu0", " ", "\t", ",", "=", "#", "[", "]", ";", "64", "0x1", "-3", "'", "\"",
	"\\n", "\\t", "\\\\", "\\\"", "\\'", "\\a", "\\v", "\\r", "\\x41", "\\101", "\\0", "\\q",
	"\\ ", "\\1 23", "\\18", "\xc3\xa9", "\xe2\x82\xac", "\xff", "\xc3", "\r", "\x01",
};
static const char *const g_ends[] = {
	"\n", "\n", "\n", ";", "; ", "\n\n", " # c\n", "# c\n", "\r\n", "", " x\n", ";\n",
};
static const char *const g_list_gaps[] = { "", " ", "\n", " # c\n", "\n\n" };

static void gen_value(struct buf *b, unsigned int depth);

static void gen_string(struct buf *b)
{
	char q = pick(2) ? '"' : '\'';
	unsigned int n = pick(5);

	if (!pick(6)) {
		/* Text xl may read as a number. */
		buf_byte(b, q);
		buf_str(b, PICK(g_numbers));
		buf_byte(b, q);
		return;
	}
	buf_byte(b, q);
	for (unsigned int i = 0; i < n; i++) {
		const char *part = PICK(g_string_parts);

		/* Mostly keep to strings that close. */
		if (part[0] == q && pick(4))
			continue;
		buf_str(b, part);
	}
	buf_byte(b, q);
}

static void gen_list(struct buf *b, unsigned int depth)
{
	unsigned int n = pick(4);

	buf_byte(b, '[');
	buf_str(b, PICK(g_list_gaps));
	for (unsigned int i = 0; i < n; i++) {
		gen_value(b, depth + 1);
		buf_str(b, PICK(g_list_gaps));
		if (i + 1 < n || pick(3) == 0)
			buf_str(b, pick(12) ? "," : ",,");
		buf_str(b, PICK(g_list_gaps));
	}
	if (pick(20))
		buf_byte(b, ']');
}

static void gen_value(struct buf *b, unsigned int depth)
{
	unsigned int k = pick(depth > 3 ? 2 : 3);

	if (k == 0)
		buf_str(b, PICK(g_numbers));
	else if (k == 1)
		gen_string(b);
	else
		gen_list(b, depth);
}

static void gen_snippet(struct buf *b)
{
	unsigned int n = 1 + pick(4);

	for (unsigned int i = 0; i < n; i++) {
		buf_str(b, pick(3) ? "" : PICK(g_blank));
		buf_str(b, pick(3) ? PICK(g_keys) : g_keys[pick(4)]);
		buf_str(b, PICK(g_blank));
		buf_str(b, pick(4) ? "=" : PICK(g_ops));
		buf_str(b, PICK(g_blank));
		gen_value(b, 0);
		buf_str(b, PICK(g_blank));
		buf_str(b, i + 1 < n || pick(2) ? PICK(g_ends) : "");
	}
	if (!pick(10))
		buf_str(b, "# trailing comment");
}

static const char mut_bytes[] = "\n\r\t ;,=+[]#'\"\\0x9aA.-_\xc3\xff\x80";

static void mutate(struct buf *b, const char *text, size_t len)
{
	unsigned int n = 1 + pick(3);

	buf_add(b, text, len);
	for (unsigned int i = 0; i < n && b->len; i++) {
		size_t at = pick((unsigned int)b->len + 1);
		unsigned int op = pick(3);

		if (op == 0) {
			/* Insert a byte. */
			char c = mut_bytes[pick(sizeof(mut_bytes) - 1)];

			buf_byte(b, 0);
			memmove(b->p + at + 1, b->p + at, b->len - 1 - at);
			b->p[at] = c;
		} else if (op == 1 && at < b->len) {
			/* Delete one. */
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
		} else if (at < b->len) {
			b->p[at] = mut_bytes[pick(sizeof(mut_bytes) - 1)];
		}
	}
}

static void add_big(void)
{
	struct buf b = { 0 };
	size_t i;

	/* A long line: a 200 KB string. */
	buf_str(&b, "a = \"");
	for (i = 0; i < 200000; i++)
		buf_byte(&b, (char)('a' + i % 26));
	buf_str(&b, "\"\n");
	add_snippet(b.p, b.len, "long string");
	/* A long key. */
	b.len = 0;
	for (i = 0; i < 100000; i++)
		buf_byte(&b, (char)('a' + i % 26));
	buf_str(&b, " = 1\n");
	add_snippet(b.p, b.len, "long key");
	/* A long list. */
	b.len = 0;
	buf_str(&b, "a = [");
	for (i = 0; i < 20000; i++)
		buf_fmt(&b, "%zu,\n", i);
	buf_str(&b, "]\n");
	add_snippet(b.p, b.len, "long list");
	/* Nesting: vcoproc's bound, one past it, and past xl's. */
	for (int k = 0; k < 3; k++) {
		size_t depth = k == 0 ? XLCFG_MAX_DEPTH : k == 1 ? XLCFG_MAX_DEPTH + 1 : 6000;

		b.len = 0;
		buf_str(&b, "a = ");
		for (i = 0; i < depth; i++)
			buf_byte(&b, '[');
		for (i = 0; i < depth; i++)
			buf_byte(&b, ']');
		buf_byte(&b, '\n');
		add_snippet(b.p, b.len, k == 0 ? "deep list" : k == 1 ? "deeper list" :
			    "deepest list");
	}
	/* Many settings. */
	b.len = 0;
	for (i = 0; i <= XLCFG_MAX_SETTINGS; i++)
		buf_fmt(&b, "k%zu = %zu\n", i, i);
	add_snippet(b.p, b.len, "many settings");
	/* Over the size bound. */
	b.len = 0;
	buf_str(&b, "a = 1\n");
	while (b.len <= XLCFG_MAX_TEXT)
		buf_str(&b, "# padding padding padding padding padding padding padding\n");
	add_snippet(b.p, b.len, "big file");
	free(b.p);
}

static void build_corpus(unsigned long seed)
{
	struct buf b = { 0 };
	char origin[48];
	size_t nr_hand = sizeof(hand) / sizeof(hand[0]);

	for (size_t i = 0; i < nr_hand; i++) {
		snprintf(origin, sizeof(origin), "hand #%zu", i);
		add_snippet(hand[i].text, hand[i].len, origin);
	}
	add_big();
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (unsigned int i = 0; i < 600; i++) {
		b.len = 0;
		gen_snippet(&b);
		snprintf(origin, sizeof(origin), "generated #%u (seed %lu)", i, seed);
		add_snippet(b.p ? b.p : "", b.len, origin);
	}
	for (unsigned int i = 0; i < 300; i++) {
		size_t k = pick((unsigned int)nr_hand);

		b.len = 0;
		mutate(&b, hand[k].text, hand[k].len);
		snprintf(origin, sizeof(origin), "mutation #%u of hand #%zu (seed %lu)", i, k, seed);
		add_snippet(b.p ? b.p : "", b.len, origin);
	}
	free(b.p);
}

/* ---- the keys a snippet may set --------------------------------------------- */

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

/*
 * Every name xl could have stored: a run of [a-z][a-z0-9._]* that starts a
 * line, follows ';' or blank space, and is followed by '=' or '+='.  A key
 * anywhere else would have been a syntax error.  A superset is harmless:
 * both readers must say "not set".
 */
static char **candidate_keys(const struct snippet *s, size_t *nr)
{
	char **keys = NULL;
	size_t n = 0;

	for (size_t i = 0; i < s->len; i++) {
		size_t e, k;
		bool dup = false;

		if (s->text[i] < 'a' || s->text[i] > 'z')
			continue;
		if (i && !strchr("\n; \t", s->text[i - 1]))
			continue;
		for (e = i; e < s->len && key_char(s->text[e]); e++)
			;
		for (k = e; k < s->len && (s->text[k] == ' ' || s->text[k] == '\t'); k++)
			;
		if (k >= s->len || !(s->text[k] == '=' || (s->text[k] == '+' && k + 1 < s->len &&
							    s->text[k + 1] == '=')))
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strlen(keys[j]) == e - i && !memcmp(keys[j], s->text + i, e - i);
		if (dup)
			continue;
		keys = realloc(keys, (n + 1) * sizeof(*keys));
		keys[n] = strndup(s->text + i, e - i);
		if (!keys || !keys[n])
			exit(1);
		n++;
	}
	*nr = n;
	return keys;
}

/* ---- values, as text to compare --------------------------------------------- */

static void show_bytes(struct buf *b, const char *s)
{
	buf_byte(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_fmt(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_fmt(b, "\\x%02x", c);
		else
			buf_byte(b, (char)c);
	}
	buf_byte(b, '"');
}

static void show_long(struct buf *b, int e, long l)
{
	if (e)
		buf_fmt(b, " long:%s", e == EINVAL ? "EINVAL" : e == ERANGE ? "ERANGE" : "?");
	else
		buf_fmt(b, " long:%ld", l);
}

static void xl_show_list(const XLU_Config *cfg, const XLU_ConfigList *list, struct buf *b)
{
	XLU_ConfigValue *v;

	buf_byte(b, '[');
	for (int i = 0; (v = xlu_cfg_get_listitem2(list, i)); i++) {
		if (i)
			buf_byte(b, ',');
		if (xlu_cfg_value_type(v) == XLU_STRING) {
			char *s = NULL;

			xlu_cfg_value_get_string(cfg, v, &s, 1);
			show_bytes(b, s ? s : "(null)");
		} else {
			XLU_ConfigList *sub = NULL;

			xlu_cfg_value_get_list(cfg, v, &sub, 1);
			xl_show_list(cfg, sub, b);
		}
	}
	buf_byte(b, ']');
}

/* @key as xl gives it: "-" (not set), "ATOM long:..", or "[...]". */
static void xl_show(const XLU_Config *cfg, const char *key, struct buf *b)
{
	XLU_ConfigList *list;
	const char *s;
	long l = 0;
	int e, nr;

	e = xlu_cfg_get_string(cfg, key, &s, 1);
	if (e == ESRCH) {
		buf_str(b, "-");
		return;
	}
	if (!e) {
		show_bytes(b, s);
		e = xlu_cfg_get_long(cfg, key, &l, 1);
		show_long(b, e, l);
		return;
	}
	e = xlu_cfg_get_list(cfg, key, &list, &nr, 1);
	if (e) {
		buf_fmt(b, "error %d", e);
		return;
	}
	xl_show_list(cfg, list, b);
}

static void vc_show_value(const struct xlcfg_value *v, struct buf *b)
{
	if (v->type != XLCFG_LIST) {
		show_bytes(b, v->str);
		return;
	}
	buf_byte(b, '[');
	for (unsigned int i = 0; i < v->nr_items; i++) {
		if (i)
			buf_byte(b, ',');
		vc_show_value(v->items[i], b);
	}
	buf_byte(b, ']');
}

static void vc_show(const struct xlcfg *cfg, const char *key, struct buf *b)
{
	const struct xlcfg_setting *s = xlcfg_find(cfg, key);
	long l = 0;
	int r;

	if (!s) {
		buf_str(b, "-");
		return;
	}
	vc_show_value(s->value, b);
	if (s->value->type != XLCFG_LIST) {
		r = xlcfg_long(s, &l);
		show_long(b, r == -VC_EINVAL ? EINVAL : r == -VC_ERANGE ? ERANGE : r ? -1 : 0, l);
	}
}

/* ---- one snippet ------------------------------------------------------------ */

enum xl_result { XL_ACCEPTS, XL_REFUSES, XL_DIES };

/*
 * xl's reading of @s, in a child: XL_ACCEPTS with every candidate key's
 * value in @out, one per line, or XL_REFUSES / XL_DIES.
 */
static enum xl_result run_xl(const struct snippet *s, char **keys, size_t nr_keys,
			     struct buf *out)
{
	int fds[2], status;
	char chunk[4096];
	ssize_t n;
	pid_t pid;

	if (pipe(fds)) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		FILE *report = fopen("/dev/null", "w");
		XLU_Config *cfg;
		struct buf b = { 0 };

		close(fds[0]);
		/* Quiet, even when libxlutil asserts. */
		if (report)
			dup2(fileno(report), 2);
		cfg = xlu_cfg_init(report ? report : stderr, "x.cfg");
		if (!cfg)
			_exit(3);
		if (xlu_cfg_readdata(cfg, s->text, (int)s->len))
			_exit(2);
		for (size_t i = 0; i < nr_keys; i++) {
			buf_str(&b, keys[i]);
			buf_str(&b, ": ");
			xl_show(cfg, keys[i], &b);
			buf_byte(&b, '\n');
		}
		for (size_t o = 0; o < b.len; o += (size_t)n) {
			n = write(fds[1], b.p + o, b.len - o);
			if (n <= 0)
				_exit(3);
		}
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		exit(1);
	}
	if (WIFSIGNALED(status))
		return XL_DIES;
	if (WEXITSTATUS(status) == 2)
		return XL_REFUSES;
	if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "xl's child failed (%d)\n", WEXITSTATUS(status));
		exit(1);
	}
	return XL_ACCEPTS;
}

/* "x.cfg:LINE:COL: " at the start of @err. */
static bool located(const char *err)
{
	unsigned int line, col;
	int n = 0;

	return sscanf(err, "x.cfg:%u:%u: %n", &line, &col, &n) == 2 && n > 0 && line && col;
}

static void print_snippet(const struct snippet *s)
{
	struct buf b = { 0 };
	size_t shown = s->len > 400 ? 400 : s->len;

	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s->text[i];

		if (c == '\\' || c == '"')
			buf_fmt(&b, "\\%c", c);
		else if (c == '\n')
			buf_str(&b, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			buf_fmt(&b, "\\x%02x", c);
		else
			buf_byte(&b, (char)c);
	}
	fprintf(stderr, "  snippet (%s, %zu bytes): \"%s\"%s\n", s->origin, s->len,
		b.p ? b.p : "", shown < s->len ? "..." : "");
	free(b.p);
}

struct tally {
	unsigned int same, both_refuse, xl_dies, not_supported, failed;
};

static void check_snippet(const struct snippet *s, struct tally *t, bool verbose)
{
	char err[XLCFG_ERR_MAX] = "";
	struct buf xl = { 0 }, vc = { 0 };
	struct xlcfg *cfg = NULL;
	enum xl_result xr;
	size_t nr_keys = 0;
	char **keys = candidate_keys(s, &nr_keys);
	int r;

	xr = run_xl(s, keys, nr_keys, &xl);
	r = xlcfg_parse(s->text, s->len, "x.cfg", &cfg, err, sizeof(err));
	if (!r) {
		for (size_t i = 0; i < nr_keys; i++) {
			buf_str(&vc, keys[i]);
			buf_str(&vc, ": ");
			vc_show(cfg, keys[i], &vc);
			buf_byte(&vc, '\n');
		}
		/* Every key vcoproc has must have been asked of both. */
		for (unsigned int i = 0; i < cfg->nr_settings; i++) {
			bool found = false;

			for (size_t k = 0; k < nr_keys && !found; k++)
				found = !strcmp(keys[k], cfg->settings[i].key);
			if (!found) {
				buf_str(&vc, "unexpected key: ");
				buf_str(&vc, cfg->settings[i].key);
				buf_byte(&vc, '\n');
			}
		}
	}

	if (xr == XL_ACCEPTS && !r && xl.len == vc.len && (!xl.len || !memcmp(xl.p, vc.p, xl.len))) {
		t->same++;
	} else if (xr == XL_ACCEPTS && (r == -VC_EINVAL || r == -VC_E2BIG) && located(err) &&
		   strstr(err, "not supported")) {
		t->not_supported++;
	} else if (xr != XL_ACCEPTS && r && located(err)) {
		if (xr == XL_DIES)
			t->xl_dies++;
		else
			t->both_refuse++;
	} else {
		t->failed++;
		fprintf(stderr, "FAIL: xl %s, vcoproc %s\n",
			xr == XL_ACCEPTS ? "accepts" : xr == XL_DIES ? "dies" : "refuses",
			r ? "refuses" : "accepts");
		print_snippet(s);
		if (r)
			fprintf(stderr, "  vcoproc: %s\n", err);
		if (xr == XL_ACCEPTS)
			fprintf(stderr, "  xl's values:\n%s", xl.p ? xl.p : "");
		if (!r)
			fprintf(stderr, "  vcoproc's values:\n%s", vc.p ? vc.p : "");
	}
	if (verbose) {
		print_snippet(s);
		fprintf(stderr, "  xl %s; vcoproc: %s\n",
			xr == XL_ACCEPTS ? "accepts" : xr == XL_DIES ? "dies" : "refuses",
			r ? err : "accepts");
	}
	xlcfg_free(cfg);
	for (size_t i = 0; i < nr_keys; i++)
		free(keys[i]);
	free(keys);
	free(xl.p);
	free(vc.p);
}

int main(void)
{
	const char *seed_env = getenv("XLCFG_DIFF_SEED");
	const char *verbose_env = getenv("XLCFG_DIFF_VERBOSE");
	unsigned long seed = seed_env ? strtoul(seed_env, NULL, 0) : 1;
	bool verbose = verbose_env && *verbose_env && strcmp(verbose_env, "0");
	struct tally t = { 0 };

	build_corpus(seed);
	for (size_t i = 0; i < nr_corpus; i++)
		check_snippet(&corpus[i], &t, verbose);
	printf("%zu snippets against libxlutil: %u read alike, %u refused by both, "
	       "%u that kill xl refused, %u refused as not supported, %u differ\n",
	       nr_corpus, t.same, t.both_refuse, t.xl_dies, t.not_supported, t.failed);
	for (size_t i = 0; i < nr_corpus; i++)
		free(corpus[i].text);
	free(corpus);
	return t.failed ? 1 : 0;
}

#else /* !HAVE_XLUTIL */

int main(void)
{
	printf("SKIP: libxlutil (Debian's libxen-dev) is not installed, so there is no xl "
	       "to compare the xl.cfg reader with\n");
	return 77;
}

#endif
