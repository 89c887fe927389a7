// SPDX-License-Identifier: MIT
/*
 * Control protocol without sockets: the exact reply to each kind of
 * malformed request (table-driven), the framing of a byte stream, console
 * logs, the connection policy, and the generic backend's commands against
 * a real framework (two simcp coprocessors on virtual time) with a host
 * that builds domains from domain files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "ctl_fw.h"
#include "domcfg.h"
#include "simcp.h"

#include "vcoproc-config.h"

/* ---- a mock backend -------------------------------------------------------------- */

static int m_echo(void *opaque, struct json_object *args, struct json_object **ret,
		  struct ctl_error *err)
{
	const char *text;
	int r = ctl_arg_string(args, "text", true, &text, err);

	if (r)
		return r;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "text", json_object_new_string(text));
	return 0;
}

static int m_num(void *opaque, struct json_object *args, struct json_object **ret,
		 struct ctl_error *err)
{
	uint64_t n = 0;

	return ctl_arg_uint(args, "n", true, 10, &n, err);
}

static int m_fail(void *opaque, struct json_object *args, struct json_object **ret,
		  struct ctl_error *err)
{
	return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no such thing");
}

static int m_fail_quietly(void *opaque, struct json_object *args, struct json_object **ret,
			  struct ctl_error *err)
{
	return -VC_EIO;
}

/* A reply of about @n bytes. */
static int m_big(void *opaque, struct json_object *args, struct json_object **ret,
		 struct ctl_error *err)
{
	uint64_t n = 0;
	char *t;
	int r = ctl_arg_uint(args, "n", true, 64u << 20, &n, err);

	if (r)
		return r;
	t = malloc(n + 1);
	if (!t)
		return -VC_ENOMEM;
	memset(t, 'b', n);
	t[n] = '\0';
	*ret = json_object_new_object();
	json_object_object_add(*ret, "text", json_object_new_string(t));
	free(t);
	return 0;
}

/* An error quoting @text cut at 10 bytes, as handlers quote names. */
static int m_quote(void *opaque, struct json_object *args, struct json_object **ret,
		   struct ctl_error *err)
{
	const char *text;
	int r = ctl_arg_string(args, "text", true, &text, err);

	if (r)
		return r;
	return ctl_error_set(err, CTL_ERR_GENERIC, "[%.*s]", ctl_utf8_prefix(text, 10), text);
}

static const char *const a_text[] = { "text", NULL };
static const char *const a_n[] = { "n", NULL };

static const struct ctl_command mock_cmds[] = {
	{ "echo", m_echo, a_text, "say it back" },
	{ "num", m_num, a_n, NULL },
	{ "fail", m_fail, NULL, NULL },
	{ "fail-quietly", m_fail_quietly, NULL, NULL },
	{ "unimplemented", NULL, NULL, NULL },
	{ "big", m_big, a_n, NULL },
	{ "quote", m_quote, a_text, NULL },
	{ NULL, NULL, NULL, NULL },
};

static const struct ctl_ops mock_ops = { .name = "mock", .commands = mock_cmds };

static char *handle(const struct ctl_ops *ops, void *opaque, const char *line, size_t len)
{
	size_t rlen = 0;
	char *r = ctl_handle_line(ops, opaque, line, len, &rlen);

	if (!r)
		abort(); /* out of memory: nothing to test */
	assert_int_equal(rlen, strlen(r));
	assert_true(rlen > 0 && r[rlen - 1] == '\n');
	r[rlen - 1] = '\0'; /* compare without the newline */
	return r;
}

struct req_case {
	const char *req;
	const char *reply; /* exact, without the newline */
};

#define ERR(cls, desc) "{\"error\":{\"class\":\"" cls "\",\"desc\":\"" desc "\"}}"

static const struct req_case req_cases[] = {
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"hi\"}}", "{\"return\":{\"text\":\"hi\"}}" },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"x\"},\"id\":42}",
	  "{\"return\":{\"text\":\"x\"},\"id\":42}" },
	{ " { \"id\" : [1, \"a\"] , \"execute\" : \"echo\", \"arguments\": {\"text\": \"\"} } \t\r",
	  "{\"return\":{\"text\":\"\"},\"id\":[1,\"a\"]}" },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":10}}", "{\"return\":{}}" },
	{ "{\"execute\":\"nope\"}",
	  ERR("CommandNotFound", "the command \\\"nope\\\" has not been found") },
	{ "{\"execute\":\"unimplemented\"}",
	  ERR("CommandNotFound", "the command \\\"unimplemented\\\" has not been found") },
	{ "{\"execute\":\"nope\",\"id\":\"a\"}",
	  "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"the command \\\"nope\\\" has not been found\"},\"id\":\"a\"}" },
	{ "[1,2]", ERR("GenericError", "expected a JSON object, found an array") },
	{ "\"str\"", ERR("GenericError", "expected a JSON object, found a string") },
	{ "null", ERR("GenericError", "expected a JSON object, found null") },
	{ "{\"execute\":5}", ERR("GenericError", "member \\\"execute\\\": expected a string, found an integer") },
	{ "{\"arguments\":{}}", ERR("GenericError", "expected member \\\"execute\\\" (the command), found none") },
	{ "{\"execute\":\"echo\",\"bogus\":1}",
	  ERR("GenericError", "unexpected member \\\"bogus\\\" (a request has \\\"execute\\\", \\\"arguments\\\", \\\"id\\\")") },
	{ "{\"execute\":\"echo\",\"arguments\":[]}",
	  ERR("GenericError", "member \\\"arguments\\\": expected an object, found an array") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"a\",\"x\":1}}",
	  ERR("GenericError", "echo: unexpected argument \\\"x\\\"") },
	{ "{\"execute\":\"fail\",\"arguments\":{\"x\":1}}",
	  ERR("GenericError", "fail: unexpected argument \\\"x\\\"") },
	{ "{\"execute\":\"echo\"}", ERR("GenericError", "missing argument \\\"text\\\"") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":5}}",
	  ERR("GenericError", "argument \\\"text\\\": expected a string, found an integer") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"a\\u0000b\"}}",
	  ERR("GenericError", "expected a JSON object, found a NUL character (\\\\u0000) at byte 40: NUL is refused in every string") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":11}}",
	  ERR("GenericError", "argument \\\"n\\\": expected an integer from 0 to 10, found 11") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":-1}}",
	  ERR("GenericError", "argument \\\"n\\\": expected an integer from 0 to 10, found -1") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":1.5}}",
	  ERR("GenericError", "argument \\\"n\\\": expected an integer from 0 to 10, found a fractional number") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":99999999999999999999}}",
	  ERR("GenericError", "expected a JSON object, found an integer out of range at byte 34 (integers are -9223372036854775808 to 18446744073709551615)") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":18446744073709551615}}",
	  ERR("GenericError", "argument \\\"n\\\": expected an integer from 0 to 10, found 18446744073709551615") },
	{ "{\"execute\":\"echo\"} {\"execute\":\"echo\"}",
	  ERR("GenericError", "expected one JSON object per line, found more at byte 19") },
	{ "{\"execute\":", ERR("GenericError", "expected a JSON object, found an incomplete one") },
	{ "", ERR("GenericError", "expected a JSON object, found an incomplete one") },
	{ "{\"execute\":\"fail\"}", ERR("DeviceNotFound", "no such thing") },
	{ "{\"execute\":\"query-version\"}",
	  "{\"return\":{\"version\":\"" VC_VERSION "\",\"protocol\":1}}" },
	{ "{\"execute\":\"query-version\",\"arguments\":{\"x\":1}}",
	  ERR("GenericError", "query-version takes no arguments") },
};

static void test_requests(void **state)
{
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		char *r = handle(&mock_ops, NULL, c->req, strlen(c->req));

		if (strcmp(r, c->reply))
			print_error("case %zu: %s\n  got:  %s\n  want: %s\n", i, c->req, r, c->reply);
		assert_string_equal(r, c->reply);
		free(r);
	}
}

/* Replies whose wording comes from json-c: the class and our prefix. */
static void test_bad_json(void **state)
{
	static const char *const bad[] = {
		"{'execute':'x'}",
		"{\"execute\":\"x\",}",
		"{\"execute\":\"\xff\xfe\"}",
		"{\"execute\":\"\xc3\"}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"{\"execute\":\"x\"}}",
		"nul",
		"{\"a\":tru}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static const char prefix[] = "{\"error\":{\"class\":\"GenericError\",\"desc\":\"expected ";
		char *r = handle(&mock_ops, NULL, bad[i], strlen(bad[i]));

		if (strncmp(r, prefix, sizeof(prefix) - 1))
			print_error("case %zu: %s\n", i, r ? r : "(none)");
		assert_true(!strncmp(r, prefix, sizeof(prefix) - 1));
		free(r);
	}
}

static void test_nul_and_handler_errors(void **state)
{
	static const char with_nul[] = "{\"execute\":\"echo\"\0}";
	char *r = handle(&mock_ops, NULL, with_nul, sizeof(with_nul) - 1);
	char want[256];

	assert_string_equal(r, ERR("GenericError", "expected a JSON object, found a NUL byte"));
	free(r);
	r = handle(&mock_ops, NULL, "{\"execute\":\"fail-quietly\"}", 26);
	snprintf(want, sizeof(want), ERR("GenericError", "fail-quietly: %s"), vc_strerror(-VC_EIO));
	assert_string_equal(r, want);
	free(r);
	/* No backend at all: only the protocol's own commands. */
	r = handle(NULL, NULL, "{\"execute\":\"echo\"}", 18);
	assert_string_equal(r, ERR("CommandNotFound", "the command \\\"echo\\\" has not been found"));
	free(r);
}

static void test_query_commands(void **state)
{
	char *r = handle(&mock_ops, NULL, "{\"execute\":\"query-commands\"}", 28);
	struct json_object *o = json_tokener_parse(r), *ret, *e;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "return", &ret));
	/* query-version, query-commands, and the six with handlers */
	assert_int_equal(json_object_array_length(ret), 8);
	e = json_object_array_get_idx(ret, 2);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "name")), "echo");
	assert_string_equal(json_object_get_string(
		json_object_array_get_idx(json_object_object_get(e, "arguments"), 0)), "text");
	json_object_put(o);
	free(r);
}

/* ---- strict JSON, UTF-8 and ids ----------------------------------------------------------- */

#define BAD(desc) ERR("GenericError", "expected a JSON object, found " desc)

static const struct req_case strict_cases[] = {
	/* NUL anywhere: in the command, a member name, an argument name, a value. */
	{ "{\"execute\":\"echo\\u0000junk\",\"arguments\":{\"text\":\"a\"}}",
	  BAD("a NUL character (\\\\u0000) at byte 16: NUL is refused in every string") },
	{ "{\"execute\":\"echo\",\"id\\u0000\":1}",
	  BAD("a NUL character (\\\\u0000) at byte 21: NUL is refused in every string") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\\u0000\":\"a\"}}",
	  BAD("a NUL character (\\\\u0000) at byte 36: NUL is refused in every string") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"a\"},\"id\":[\"\\u0000\"]}",
	  BAD("a NUL character (\\\\u0000) at byte 50: NUL is refused in every string") },
	/* UTF-8: overlong forms, surrogates, past U+10FFFF, stray bytes, cut short. */
	{ "{\"execute\":\"\xc0\xaf\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"\xe0\x80\xaf\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"\xf0\x80\x80\xaf\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"a\xed\xa0\x80\"}",
	  BAD("invalid UTF-8 at byte 13 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"\xf4\x90\x80\x80\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"\x80\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"\xc3\"}",
	  BAD("invalid UTF-8 at byte 12 (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)") },
	{ "{\"execute\":\"echo\",\"id\":\"\\ud800\"}", BAD("an unpaired surrogate (\\\\ud800) at byte 24") },
	{ "{\"execute\":\"echo\",\"id\":\"\\udc00\"}", BAD("an unpaired surrogate (\\\\udc00) at byte 24") },
	{ "{\"execute\":\"echo\",\"id\":\"\\ud800\\u0041\"}", BAD("an unpaired surrogate (\\\\ud800) at byte 24") },
	{ "{\"execute\":\"echo\",\"id\":\"a\tb\"}",
	  BAD("a control character (0x09) in a string at byte 25: escape it") },
	/* Numbers: no NaN, no Infinity, the grammar, 64-bit integers. */
	{ "{\"execute\":\"echo\",\"id\":NaN}", BAD("NaN at byte 23: not JSON (a number is finite)") },
	{ "{\"execute\":\"echo\",\"id\":Infinity}", BAD("Infinity at byte 23: not JSON (a number is finite)") },
	{ "{\"execute\":\"echo\",\"id\":-Infinity}", BAD("-Infinity at byte 23: not JSON (a number is finite)") },
	{ "{\"execute\":\"echo\",\"id\":01}", BAD("bad JSON at byte 24: expected ',' or '}'") },
	{ "{\"execute\":\"echo\",\"id\":1.}", BAD("bad JSON at byte 23: a malformed number") },
	{ "{\"execute\":\"echo\",\"id\":.5}", BAD("bad JSON at byte 23: expected a value") },
	{ "{\"execute\":\"echo\",\"id\":+1}", BAD("bad JSON at byte 23: expected a value") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":-9223372036854775809}}",
	  BAD("an integer out of range at byte 34 (integers are -9223372036854775808 to 18446744073709551615)") },
	{ "{\"execute\":\"num\",\"arguments\":{\"n\":18446744073709551616}}",
	  BAD("an integer out of range at byte 34 (integers are -9223372036854775808 to 18446744073709551615)") },
	/* Members named twice, at any depth. */
	{ "{\"execute\":\"echo\",\"execute\":\"num\"}",
	  ERR("GenericError", "expected a JSON object with unique member names, found a name given twice") },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"a\",\"text\":\"b\"}}",
	  ERR("GenericError", "expected a JSON object with unique member names, found a name given twice") },
	/* Ids come back as they were written (blank space between tokens aside). */
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\"},\"id\":123456789012345678901234567890}",
	  "{\"return\":{\"text\":\"\"},\"id\":123456789012345678901234567890}" },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\"},\"id\":0.1000000000000000055511151231257827}",
	  "{\"return\":{\"text\":\"\"},\"id\":0.1000000000000000055511151231257827}" },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\"},\"id\":-1E400}",
	  "{\"return\":{\"text\":\"\"},\"id\":-1E400}" },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\"},\"id\":-0}",
	  "{\"return\":{\"text\":\"\"},\"id\":-0}" },
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\"},\"id\" : { \"a b\" : [ 1.50 , \"\\u00e9\\\" \" ] } }",
	  "{\"return\":{\"text\":\"\"},\"id\":{\"a b\":[1.50,\"\\u00e9\\\" \"]}}" },
	{ "{\"execute\":\"nope\",\"id\":99999999999999999999}",
	  "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"the command \\\"nope\\\" has not been found\"},\"id\":99999999999999999999}" },
	/* A surrogate pair and a 4-byte character are fine. */
	{ "{\"execute\":\"echo\",\"arguments\":{\"text\":\"\\ud83d\\ude00\xf0\x9f\x98\x80\"}}",
	  "{\"return\":{\"text\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}}" },
	/* Names quoted in descriptions are cut between characters. */
	{ "{\"execute\":\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
	  ERR("CommandNotFound", "the command \\\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\\\" has not been found") },
	{ "{\"execute\":\"quote\",\"arguments\":{\"text\":\"abcdefghi\xe2\x82\xac\"}}",
	  ERR("GenericError", "[abcdefghi]") },
};

static void test_strict(void **state)
{
	unsigned int bad = 0;

	for (size_t i = 0; i < sizeof(strict_cases) / sizeof(strict_cases[0]); i++) {
		const struct req_case *c = &strict_cases[i];
		char *r = handle(&mock_ops, NULL, c->req, strlen(c->req));

		if (strcmp(r, c->reply)) {
			print_error("case %zu: %s\n  got:  %s\n  want: %s\n", i, c->req, r, c->reply);
			bad++;
		}
		free(r);
	}
	assert_int_equal(bad, 0);
}

static void test_utf8_prefix(void **state)
{
	char desc[8];
	struct ctl_error err;

	assert_int_equal(ctl_utf8_prefix("abc", 10), 3);
	assert_int_equal(ctl_utf8_prefix("abc", 2), 2);
	assert_int_equal(ctl_utf8_prefix("a\xc3\xa9", 2), 1);     /* not half of the é */
	assert_int_equal(ctl_utf8_prefix("a\xc3\xa9", 3), 3);
	assert_int_equal(ctl_utf8_prefix("\xf0\x9f\x98\x80z", 3), 0);
	assert_int_equal(ctl_utf8_prefix("a\xff" "b", 3), 3);        /* a bad byte is not a cut */
	assert_int_equal(ctl_utf8_prefix("abc", 0), 0);
	assert_int_equal(ctl_utf8_prefix("ab\xe2\x82", 10), 2); /* cut by its end */
	/* A description cut by its buffer loses the partial character. */
	ctl_error_set(&err, CTL_ERR_GENERIC, "%0*d\xe2\x82\xac", CTL_DESC_MAX - 3, 0);
	assert_int_equal(strlen(err.desc), CTL_DESC_MAX - 3);
	(void)desc;
}

/* A reply over CTL_REPLY_LIMIT becomes an error saying so, with the id. */
static void test_reply_limit(void **state)
{
	char req[128], want[256];
	char *r;

	snprintf(req, sizeof(req), "{\"execute\":\"big\",\"arguments\":{\"n\":%u},\"id\":5}",
		 CTL_REPLY_LIMIT);
	r = handle(&mock_ops, NULL, req, strlen(req));
	snprintf(want, sizeof(want),
		 ERR("GenericError", "reply too large: %u bytes, a reply may have at most %u") ",\"id\":5}",
		 CTL_REPLY_LIMIT + 30, CTL_REPLY_LIMIT);
	/* ERR() closes the object: put the id inside it. */
	memmove(want + strlen(want) - strlen(",\"id\":5}") - 1, ",\"id\":5}", strlen(",\"id\":5}") + 1);
	assert_string_equal(r, want);
	free(r);
	snprintf(req, sizeof(req), "{\"execute\":\"big\",\"arguments\":{\"n\":%u}}",
		 CTL_REPLY_LIMIT - 64);
	r = handle(&mock_ops, NULL, req, strlen(req));
	assert_true(!strncmp(r, "{\"return\":{\"text\":\"bbb", 22));
	free(r);
}

/* ---- framing ---------------------------------------------------------------------- */

static char *pending_text(struct ctl_session *s)
{
	size_t n = ctl_session_pending(s);
	char *t = malloc(n + 1);

	memcpy(t, s->out + s->out_off, n);
	t[n] = '\0';
	ctl_session_consumed(s, n);
	return t;
}

#define ECHO(x) "{\"execute\":\"echo\",\"arguments\":{\"text\":\"" x "\"}}"

static void test_session_lines(void **state)
{
	struct ctl_session s;
	const char *two = ECHO("a") "\n\n  \r\n" ECHO("b") "\r\n" ECHO("c");
	char *t;

	ctl_session_init(&s, &mock_ops, NULL);
	assert_int_equal(ctl_session_input(&s, two, strlen(two)), 0);
	t = pending_text(&s);
	assert_string_equal(t, "{\"return\":{\"text\":\"a\"}}\n{\"return\":{\"text\":\"b\"}}\n");
	free(t);
	assert_int_equal(s.requests, 2);
	/* "c" is a partial line until the newline (or the end of the stream). */
	assert_int_equal(ctl_session_pending(&s), 0);
	assert_int_equal(ctl_session_eof(&s), 0);
	t = pending_text(&s);
	assert_string_equal(t, "{\"return\":{\"text\":\"c\"}}\n");
	free(t);
	assert_true(s.closing);
	ctl_session_fini(&s);
}

static void test_session_byte_by_byte(void **state)
{
	struct ctl_session s;
	const char *req = ECHO("slow") "\n" ECHO("again") "\n";
	char *t;

	ctl_session_init(&s, &mock_ops, NULL);
	for (size_t i = 0; i < strlen(req); i++)
		assert_int_equal(ctl_session_input(&s, req + i, 1), 0);
	t = pending_text(&s);
	assert_string_equal(t, "{\"return\":{\"text\":\"slow\"}}\n{\"return\":{\"text\":\"again\"}}\n");
	free(t);
	assert_false(s.closing);
	ctl_session_fini(&s);
}

static void test_session_limits(void **state)
{
	struct ctl_session s;
	size_t pre = strlen("{\"execute\":\"echo\",\"arguments\":{\"text\":\"");
	size_t post = strlen("\"}}\n");
	char *line = malloc(CTL_REQUEST_MAX + 16), *t;

	/* Exactly CTL_REQUEST_MAX bytes with the newline: accepted. */
	memcpy(line, "{\"execute\":\"echo\",\"arguments\":{\"text\":\"", pre);
	memset(line + pre, 'x', CTL_REQUEST_MAX - pre - post);
	memcpy(line + CTL_REQUEST_MAX - post, "\"}}\n", post);
	ctl_session_init(&s, &mock_ops, NULL);
	assert_int_equal(ctl_session_input(&s, line, CTL_REQUEST_MAX), 0);
	t = pending_text(&s);
	assert_true(!strncmp(t, "{\"return\":{\"text\":\"xxx", 22));
	free(t);
	assert_false(s.closing);

	/* One more byte: refused, closing, the rest ignored. */
	memmove(line + pre + 1, line + pre, CTL_REQUEST_MAX - pre);
	assert_int_equal(ctl_session_input(&s, line, 1000), 0);
	assert_int_equal(ctl_session_input(&s, line + 1000, CTL_REQUEST_MAX + 1 - 1000), 0);
	t = pending_text(&s);
	assert_string_equal(t, ERR("GenericError", "request too large: expected at most 65536 bytes per line") "\n");
	free(t);
	assert_true(s.closing);
	assert_int_equal(ctl_session_input(&s, ECHO("late") "\n", strlen(ECHO("late")) + 1), 0);
	assert_int_equal(ctl_session_pending(&s), 0);
	ctl_session_fini(&s);

	/* A flood without any newline is refused as soon as it passes the limit. */
	ctl_session_init(&s, &mock_ops, NULL);
	memset(line, ' ', CTL_REQUEST_MAX + 16);
	assert_int_equal(ctl_session_input(&s, line, CTL_REQUEST_MAX), 0);
	assert_false(s.closing);
	assert_int_equal(ctl_session_input(&s, line, 1), 0);
	assert_true(s.closing);
	assert_true(ctl_session_pending(&s) > 0);
	ctl_session_fini(&s);
	free(line);
}

#define BIG(n) "{\"execute\":\"big\",\"arguments\":{\"n\":" #n "}}\n"

/* Replies not read stop the handling of further requests, which wait. */
static void test_session_backpressure(void **state)
{
	struct ctl_session s;
	char *all = malloc(10 * sizeof(BIG(300000)));
	size_t total = 0;

	all[0] = '\0';
	for (int i = 0; i < 10; i++)
		strcat(all, BIG(300000));
	ctl_session_init(&s, &mock_ops, NULL);
	assert_int_equal(ctl_session_input(&s, all, strlen(all)), 0);
	/* 4 replies pass 1 MiB: the other 6 requests wait, nothing more is read. */
	assert_int_equal(s.requests, 4);
	assert_true(ctl_session_pending(&s) >= CTL_OUT_HIGH);
	assert_true(ctl_session_pending(&s) < CTL_OUT_HIGH + 300100);
	assert_false(ctl_session_wants_input(&s));
	assert_false(ctl_session_backlog(&s));
	/* Replies taken: the requests that waited go on, in turns. */
	while (s.requests < 10 || ctl_session_pending(&s)) {
		total += ctl_session_pending(&s);
		ctl_session_consumed(&s, ctl_session_pending(&s));
		if (ctl_session_backlog(&s))
			assert_int_equal(ctl_session_process(&s, 1), 0);
		assert_true(ctl_session_pending(&s) < CTL_OUT_HIGH + 300100);
	}
	assert_int_equal(total, 10 * (300000 + strlen("{\"return\":{\"text\":\"\"}}\n")));
	assert_true(ctl_session_wants_input(&s));
	ctl_session_fini(&s);
	free(all);
}

/* A large reply is refused while everybody's unread replies pass CTL_OUT_TOTAL. */
static void test_session_shared_budget(void **state)
{
	struct ctl_session s;
	size_t shared = CTL_OUT_TOTAL - 100000;
	char *t;

	ctl_session_init(&s, &mock_ops, NULL);
	s.shared = &shared;
	assert_int_equal(ctl_session_input(&s, BIG(200000), strlen(BIG(200000))), 0);
	assert_true(strstr(s.out, "\"busy: ") != NULL);
	assert_true(shared == CTL_OUT_TOTAL - 100000 + ctl_session_pending(&s));
	t = pending_text(&s);
	free(t);
	assert_int_equal(shared, CTL_OUT_TOTAL - 100000);
	/* A small one still goes; it is counted until sent or dropped. */
	assert_int_equal(ctl_session_input(&s, BIG(1000), strlen(BIG(1000))), 0);
	assert_true(!strncmp(s.out, "{\"return\"", 9));
	assert_true(shared > CTL_OUT_TOTAL - 100000);
	ctl_session_fini(&s);
	assert_int_equal(shared, CTL_OUT_TOTAL - 100000);
}

/* ---- console logs and the connection policy ------------------------------------- */

static void test_conlog(void **state)
{
	struct ctl_conlog *log;
	uint64_t start, next;
	char buf[64];
	size_t n;

	assert_int_equal(ctl_conlog_create(16, &log), 0);
	n = ctl_conlog_read(log, 0, buf, sizeof(buf), &start, &next);
	assert_int_equal(n, 0);
	assert_int_equal(next, 0);
	ctl_conlog_write(log, "hello ", 6);
	ctl_conlog_printf(log, "world %d\n", 42);
	n = ctl_conlog_read(log, 0, buf, sizeof(buf), &start, &next);
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "hello world 42\n", 15);
	assert_int_equal(start, 0);
	assert_int_equal(next, 15);
	/* Wrap: only the last 16 bytes are kept. */
	ctl_conlog_write(log, "0123456789", 10);
	n = ctl_conlog_read(log, 0, buf, sizeof(buf), &start, &next);
	assert_int_equal(start, 9);
	assert_int_equal(n, 16);
	assert_memory_equal(buf, "ld 42\n0123456789", 16);
	assert_int_equal(next, 25);
	/* From the middle, in small pieces. */
	n = ctl_conlog_read(log, 20, buf, 3, &start, &next);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "567", 3);
	assert_int_equal(next, 23);
	/* Past the end: nothing. */
	n = ctl_conlog_read(log, 100, buf, sizeof(buf), &start, &next);
	assert_int_equal(n, 0);
	assert_int_equal(next, 25);
	/* A write larger than the ring keeps its tail. */
	ctl_conlog_write(log, "abcdefghijklmnopqrstuvwxyz", 26);
	n = ctl_conlog_read(log, 0, buf, sizeof(buf), &start, &next);
	assert_int_equal(n, 16);
	assert_memory_equal(buf, "klmnopqrstuvwxyz", 16);
	assert_int_equal(next, 51);
	ctl_conlog_destroy(log);
	assert_int_equal(ctl_conlog_create(0, &log), -VC_EINVAL);
}

static void test_cred_policy(void **state)
{
	gid_t groups[] = { 5, 100, 7 };

	assert_true(ctl_cred_allowed(1000, 1000, NULL, 0, 1000, 1000));  /* the owner */
	assert_true(ctl_cred_allowed(1001, 100, NULL, 0, 1000, 100));    /* its group */
	assert_true(ctl_cred_allowed(1001, 1001, groups, 3, 1000, 100)); /* a supplementary group */
	assert_true(ctl_cred_allowed(0, 0, NULL, 0, 1000, 100));         /* root */
	assert_false(ctl_cred_allowed(1001, 1001, NULL, 0, 1000, 100));
	assert_false(ctl_cred_allowed(65534, 65534, groups, 3, 1000, 1000));
	assert_false(ctl_cred_allowed(1001, 1001, groups, 0, 1000, 100));
}

/* ---- the generic backend on a framework ------------------------------------------- */

static struct {
	struct vc_fw *fw;
	struct simcp *dev[2];
	struct vc_coproc *c[2];
	struct ctl_fw be;
	struct vc_domain *dom[8];
	uint32_t next_id;
	const char *console;       /* what console-read returns */
} F;

static void no_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = no_irq };

static int h_create(void *opaque, const char *path, const char *text, size_t len,
		    struct ctl_created *out, struct ctl_error *err)
{
	struct domcfg *cfg = calloc(1, sizeof(*cfg));
	char msg[DOMCFG_MSG_MAX];
	int r;

	r = domcfg_parse(text, len, path, cfg, msg, sizeof(msg));
	if (!r)
		r = domcfg_build(F.fw, cfg, F.next_id, NULL, NULL, &F.dom[F.next_id], NULL, msg,
				 sizeof(msg));
	if (r) {
		ctl_error_set(err, r == -VC_ENOENT ? CTL_ERR_DEVICE_NOT_FOUND : CTL_ERR_GENERIC,
			      "%s", msg);
		free(cfg);
		return r;
	}
	out->domid = F.next_id++;
	snprintf(out->name, sizeof(out->name), "%s", cfg->name);
	out->nr_warnings = cfg->nr_warnings;
	for (unsigned int i = 0; i < cfg->nr_warnings && i < CTL_MAX_WARNINGS; i++)
		snprintf(out->warnings[i], sizeof(out->warnings[i]), "%s", cfg->warnings[i]);
	free(cfg);
	return 0;
}

static int h_destroy(void *opaque, const char *dom, struct ctl_error *err)
{
	struct vc_domain *d = vc_domain_lookup(F.fw, dom);

	if (!d)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	F.dom[vc_domain_id(d)] = NULL;
	vc_domain_destroy(d);
	return 0;
}

static int h_console(void *opaque, const char *dom, uint64_t offset, size_t max,
		     struct ctl_console_chunk *out, struct ctl_error *err)
{
	size_t n = strlen(F.console);

	if (strcmp(dom, "d1"))
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	if (offset > n)
		offset = n;
	out->len = VC_MIN(n - (size_t)offset, max);
	memcpy(out->data, F.console + offset, out->len);
	out->start = 0;
	out->next = offset + out->len;
	out->closed = true;
	return 0;
}

static const struct ctl_host_ops host_ops = {
	.create = h_create, .destroy = h_destroy, .console_read = h_console,
};

static int fw_setup(void **state)
{
	static const char *const names[] = { "gpu0", "gpu1" };
	struct simcp_config sc = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc d;

	memset(&F, 0, sizeof(F));
	F.next_id = 1;
	vc_vtime_reset();
	assert_int_equal(vc_fw_create(&hops, &F.fw), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(simcp_create(&sc, &F.dev[i]), 0);
		simcp_coproc_desc(F.dev[i], names[i], 0xfe000000ull + 0x1000ull * (unsigned)i,
				  16 + (unsigned)i, &d);
		d.sched = "credit";
		assert_int_equal(vc_coproc_register(F.fw, &d, &F.c[i]), 0);
		simcp_attach(F.dev[i], F.c[i]);
	}
	ctl_fw_init(&F.be, F.fw, &host_ops, NULL);
	return 0;
}

static int fw_teardown(void **state)
{
	for (unsigned int i = 0; i < 8; i++)
		vc_domain_destroy(F.dom[i]);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vc_coproc_unregister(F.c[i]), 0);
		simcp_attach(F.dev[i], NULL);
		simcp_destroy(F.dev[i]);
	}
	vc_fw_destroy(F.fw);
	return 0;
}

/* Run @req on the generic backend; the parsed reply (json_object_put() it). */
static struct json_object *fw_call(const char *req)
{
	char *r = handle(&ctl_fw_ops, &F.be, req, strlen(req));
	struct json_object *o = json_tokener_parse(r);

	if (!o)
		print_error("not JSON: %s\n", r);
	assert_non_null(o);
	free(r);
	return o;
}

/* The "return" value, asserting there is one. */
static struct json_object *ret_of(struct json_object *o)
{
	struct json_object *ret;

	if (!json_object_object_get_ex(o, "return", &ret))
		print_error("error reply: %s\n", json_object_to_json_string(o));
	assert_true(json_object_object_get_ex(o, "return", &ret));
	return ret;
}

static void assert_error(const char *req, const char *cls, const char *desc)
{
	char *r = handle(&ctl_fw_ops, &F.be, req, strlen(req));
	struct json_object *o = json_tokener_parse(r), *e;

	assert_non_null(o);
	if (!json_object_object_get_ex(o, "error", &e) ||
	    strcmp(json_object_get_string(json_object_object_get(e, "class")), cls) ||
	    strcmp(json_object_get_string(json_object_object_get(e, "desc")), desc))
		print_error("%s\n  got:  %s\n  want: %s: %s\n", req, r, cls, desc);
	assert_true(json_object_object_get_ex(o, "error", &e));
	assert_string_equal(json_object_get_string(json_object_object_get(e, "class")), cls);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "desc")), desc);
	json_object_put(o);
	free(r);
}

static const char *get_str(struct json_object *o, const char *path)
{
	struct json_object *v = o;
	char key[64];

	while (*path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		memcpy(key, path, n);
		key[n] = '\0';
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(key));
		else
			assert_true(json_object_object_get_ex(v, key, &v));
		path += n + (dot ? 1 : 0);
	}
	return json_object_get_string(v);
}

#define CREATE(text) \
	"{\"execute\":\"create\",\"arguments\":{\"path\":\"d.cfg\",\"config\":\"" text "\"}}"

static void test_fw_list_and_create(void **state)
{
	struct json_object *o = fw_call("{\"execute\":\"list\"}"), *ret = ret_of(o);

	assert_int_equal(json_object_array_length(ret), 2);
	assert_string_equal(get_str(ret, "0.id"), "gpu0");
	assert_string_equal(get_str(ret, "1.id"), "gpu1");
	assert_string_equal(get_str(ret, "0.compatible"), "vcoproc,simcp");
	assert_string_equal(get_str(ret, "0.algorithm"), "credit");
	assert_string_equal(get_str(ret, "0.vcoprocs"), "0");
	assert_string_equal(get_str(ret, "0.mmio.0.base"), "4261412864");
	assert_string_equal(get_str(ret, "1.irqs.0"), "17");
	assert_string_equal(get_str(ret, "0.utilization"), "0.0000");
	json_object_put(o);

	o = fw_call(CREATE("name='d1'\\nkernel='k'\\nvcoproc=['gpu0,weight=512','gpu1']\\nfoo=1\\n"));
	ret = ret_of(o);
	assert_string_equal(get_str(ret, "domid"), "1");
	assert_string_equal(get_str(ret, "name"), "d1");
	assert_string_equal(get_str(ret, "warnings.0"), "d.cfg:4:1: warning: unknown setting \"foo\" ignored");
	json_object_put(o);
	o = fw_call(CREATE("name='d2'\\nkernel='k'\\nvcoproc=['gpu0']\\n"));
	json_object_put(o);

	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	ret = ret_of(o);
	assert_int_equal(json_object_array_length(ret), 2);
	assert_string_equal(get_str(ret, "0.domain"), "d1");
	assert_string_equal(get_str(ret, "0.state"), "sleeping");
	assert_string_equal(get_str(ret, "0.params.weight"), "512");
	assert_string_equal(get_str(ret, "1.params.weight"), "256");
	assert_string_equal(get_str(ret, "0.stats.run_ns"), "0");
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"domain\":2}}");
	assert_int_equal(json_object_array_length(ret_of(o)), 1);
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"domain\":\"d1\"}}");
	assert_int_equal(json_object_array_length(ret_of(o)), 2);
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\"}");
	assert_int_equal(json_object_array_length(ret_of(o)), 3);
	json_object_put(o);

	assert_error("{\"execute\":\"vcoproc-list\",\"arguments\":{\"domain\":\"d9\"}}",
		     "DeviceNotFound", "no domain \"d9\"");
	assert_error("{\"execute\":\"vcoproc-list\",\"arguments\":{\"coproc\":\"npu\"}}",
		     "DeviceNotFound", "no coprocessor \"npu\" (gpu0, gpu1)");
	/* All or nothing: gpu0 would be fine, gpu9 is not - no domain is left. */
	assert_error(CREATE("name='d3'\\nkernel='k'\\nvcoproc=['gpu0','gpu9']\\n"), "DeviceNotFound",
		     "d.cfg:3:18: expected a coprocessor instance (gpu0, gpu1), found \"gpu9\"");
	assert_null(vc_domain_lookup(F.fw, "d3"));
	assert_null(vc_domain_find(F.fw, 3));
	/* A domain with no vcoproc is found by name too (vc_domain_lookup()). */
	o = fw_call(CREATE("name='d4'\\nkernel='k'\\n"));
	ret_of(o);
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"domain\":\"d4\"}}");
	assert_int_equal(json_object_array_length(ret_of(o)), 0);
	json_object_put(o);
	assert_error(CREATE("name=3\\n"), "GenericError",
		     "d.cfg:1:6: expected a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31), found number 3");
	assert_error("{\"execute\":\"create\",\"arguments\":{\"config\":5}}", "GenericError",
		     "argument \"config\": expected a string (the domain file's text)");

	assert_ptr_equal(vc_domain_lookup(F.fw, "d1"), F.dom[1]);
	assert_ptr_equal(vc_domain_lookup(F.fw, "2"), F.dom[2]);
	assert_null(vc_domain_lookup(F.fw, "2x"));
	o = fw_call("{\"execute\":\"destroy\",\"arguments\":{\"domain\":\"d2\"}}");
	ret_of(o);
	json_object_put(o);
	assert_null(vc_domain_lookup(F.fw, "d2"));
	assert_error("{\"execute\":\"destroy\",\"arguments\":{\"domain\":\"d2\"}}", "DeviceNotFound",
		     "no domain \"d2\"");
	assert_error("{\"execute\":\"destroy\",\"arguments\":{\"domain\":[]}}", "GenericError",
		     "argument \"domain\": expected a domain name or id, found an array");
}

static void test_fw_sched(void **state)
{
	struct json_object *o, *ret;
	char want[256], names[128] = "";
	const char *const *a = vc_sched_algos();

	o = fw_call("{\"execute\":\"sched-get\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	ret = ret_of(o);
	assert_string_equal(get_str(ret, "algorithm"), "credit");
	assert_string_equal(get_str(ret, "params.slice"), "10ms");
	assert_string_equal(get_str(ret, "algorithms.0"), a[0]);
	json_object_put(o);

	o = fw_call("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"params\":{\"slice\":\"5ms\",\"ratelimit\":200}}}");
	ret = ret_of(o);
	assert_string_equal(get_str(ret, "params.slice"), "5ms");
	assert_string_equal(get_str(ret, "params.ratelimit"), "200us");
	json_object_put(o);

	/* A refused parameter undoes the algorithm change and the ones before it. */
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"algorithm\":\"rr\",\"params\":{\"slice\":\"2ms\",\"bogus\":\"1\"}}}",
		     "GenericError", "rr on gpu0 has no parameter \"bogus\" (it has: slice)");
	assert_string_equal(vc_coproc_sched_name(F.c[0]), "credit");
	o = fw_call("{\"execute\":\"sched-get\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_string_equal(get_str(ret_of(o), "params.slice"), "5ms");
	assert_string_equal(get_str(ret_of(o), "params.ratelimit"), "200us");
	json_object_put(o);
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"params\":{\"slice\":\"1ms\",\"ratelimit\":\"forever\"}}}",
		     "GenericError", "credit on gpu0: ratelimit=forever: invalid value");
	o = fw_call("{\"execute\":\"sched-get\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_string_equal(get_str(ret_of(o), "params.slice"), "5ms");
	json_object_put(o);

	for (unsigned int i = 0; a[i]; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			 a[i]);
	snprintf(want, sizeof(want), "unknown algorithm \"fifo\" (this build has: %s)", names);
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"algorithm\":\"fifo\"}}",
		     "GenericError", want);
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\"}}", "GenericError",
		     "nothing to set: give \"algorithm\" or \"params\"");
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"params\":{\"slice\":true}}}",
		     "GenericError", "argument \"params\": \"slice\": expected a string or a non-negative integer");
	assert_error("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"params\":[]}}",
		     "GenericError", "argument \"params\": expected an object {\"key\": \"value\"}");
	assert_error("{\"execute\":\"sched-get\"}", "GenericError", "missing argument \"coproc\"");

	/* Switching keeps every vcoproc. */
	o = fw_call(CREATE("name='d1'\\nkernel='k'\\nvcoproc=['gpu0,weight=512']\\n"));
	json_object_put(o);
	o = fw_call("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"algorithm\":\"rr\"}}");
	assert_string_equal(get_str(ret_of(o), "algorithm"), "rr");
	json_object_put(o);
	o = fw_call("{\"execute\":\"list\"}");
	assert_string_equal(get_str(ret_of(o), "0.vcoprocs"), "1");
	assert_string_equal(get_str(ret_of(o), "0.algorithm"), "rr");
	json_object_put(o);
	/* ...and its parameters, for when credit comes back. */
	o = fw_call("{\"execute\":\"sched-set\",\"arguments\":{\"coproc\":\"gpu0\",\"algorithm\":\"credit\"}}");
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\"}");
	assert_string_equal(get_str(ret_of(o), "0.params.weight"), "512");
	json_object_put(o);

	o = fw_call("{\"execute\":\"sched-dump\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_true(!strncmp(get_str(ret_of(o), "text"), "coproc gpu0: algorithm credit,", 30));
	json_object_put(o);
}

static void test_fw_vcoproc_set(void **state)
{
	struct json_object *o;

	o = fw_call(CREATE("name='d1'\\nkernel='k'\\nvcoproc=['gpu0']\\n"));
	json_object_put(o);
	o = fw_call(CREATE("name='d2'\\nkernel='k'\\nvcoproc=['gpu0']\\n"));
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_string_equal(get_str(ret_of(o), "0.expected_share"), "0.5000");
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":\"d1\",\"coproc\":\"gpu0\",\"params\":{\"weight\":768}}}");
	assert_string_equal(get_str(ret_of(o), "params.weight"), "768");
	assert_string_equal(get_str(ret_of(o), "domain"), "d1");
	/* The reply has the new promise already: 768 against 256. */
	assert_string_equal(get_str(ret_of(o), "expected_share"), "0.7500");
	json_object_put(o);
	o = fw_call("{\"execute\":\"vcoproc-list\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_string_equal(get_str(ret_of(o), "1.expected_share"), "0.2500");
	assert_non_null(get_str(ret_of(o), "1.stats.switches_in"));
	json_object_put(o);
	/* cap is refused: weight goes back to 768. */
	assert_error("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":1,\"coproc\":\"gpu0\",\"params\":{\"weight\":100,\"cap\":\"200\"}}}",
		     "GenericError", "credit on d1/gpu0: cap=200: invalid value");
	o = fw_call("{\"execute\":\"vcoproc-list\"}");
	assert_string_equal(get_str(ret_of(o), "0.params.weight"), "768");
	json_object_put(o);
	assert_error("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":\"d1\",\"coproc\":\"gpu1\",\"params\":{\"weight\":1}}}",
		     "DeviceNotFound", "domain d1 has no vcoproc on gpu1");
	assert_error("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":\"d1\",\"coproc\":\"gpu0\",\"params\":{}}}",
		     "GenericError", "argument \"params\": expected at least one parameter");
	assert_error("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":\"d1\",\"coproc\":\"gpu0\",\"params\":{\"period\":\"1ms\"}}}",
		     "GenericError", "credit on d1/gpu0 has no parameter \"period\" (it has: weight, cap)");
	assert_error("{\"execute\":\"vcoproc-set\",\"arguments\":{\"domain\":\"d1\",\"coproc\":\"gpu0\",\"params\":{\"weight\":-5}}}",
		     "GenericError", "argument \"params\": \"weight\": expected a string or a non-negative integer");
}

static void test_fw_trace(void **state)
{
	struct json_object *o, *ev;

	assert_error("{\"execute\":\"trace-start\",\"arguments\":{\"coproc\":\"gpu0\",\"capacity\":2000000}}",
		     "GenericError", "argument \"capacity\": expected an integer from 1 to 1048576, found 2000000");
	o = fw_call("{\"execute\":\"trace-start\",\"arguments\":{\"coproc\":\"gpu0\",\"capacity\":1024}}");
	ret_of(o);
	json_object_put(o);
	o = fw_call(CREATE("name='d1'\\nkernel='k'\\nvcoproc=['gpu0']\\n"));
	json_object_put(o);
	o = fw_call("{\"execute\":\"trace-export\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	assert_true(json_object_object_get_ex(ret_of(o), "traceEvents", &ev));
	assert_true(json_object_array_length(ev) >= 1);
	assert_string_equal(get_str(ret_of(o), "displayTimeUnit"), "ns");
	json_object_put(o);
	o = fw_call("{\"execute\":\"trace-stop\",\"arguments\":{\"coproc\":\"gpu0\"}}");
	ret_of(o);
	json_object_put(o);
}

static void test_fw_console(void **state)
{
	struct json_object *o;

	/* Bad UTF-8 becomes '?'; a character cut by the chunk's end waits. */
	F.console = "ok \xff\xfe caf\xc3\xa9 \xe2\x82";
	o = fw_call("{\"execute\":\"console-read\",\"arguments\":{\"domain\":\"d1\"}}");
	assert_string_equal(get_str(ret_of(o), "data"), "ok ?? caf\xc3\xa9 ");
	assert_string_equal(get_str(ret_of(o), "offset"), "12");
	assert_string_equal(get_str(ret_of(o), "closed"), "true");
	json_object_put(o);
	o = fw_call("{\"execute\":\"console-read\",\"arguments\":{\"domain\":\"d1\",\"offset\":3,\"max\":2}}");
	assert_string_equal(get_str(ret_of(o), "data"), "??");
	assert_string_equal(get_str(ret_of(o), "offset"), "5");
	json_object_put(o);
	F.console = "nul\x01\0";
	o = fw_call("{\"execute\":\"console-read\",\"arguments\":{\"domain\":\"d1\"}}");
	assert_string_equal(get_str(ret_of(o), "data"), "nul\x01");
	json_object_put(o);
	assert_error("{\"execute\":\"console-read\",\"arguments\":{\"domain\":\"d1\",\"max\":100000}}",
		     "GenericError", "argument \"max\": expected an integer from 1 to 65536, found 100000");
	assert_error("{\"execute\":\"console-read\",\"arguments\":{\"domain\":\"zz\"}}",
		     "DeviceNotFound", "no domain \"zz\"");
}

static void test_fw_no_host(void **state)
{
	struct ctl_fw bare;
	char *r;

	ctl_fw_init(&bare, F.fw, NULL, NULL);
	r = handle(&ctl_fw_ops, &bare, CREATE("name='x'"), strlen(CREATE("name='x'")));
	assert_string_equal(r, ERR("CommandNotFound", "the command \\\"create\\\" is not available in this daemon"));
	free(r);
	r = handle(&ctl_fw_ops, &bare, "{\"execute\":\"domain-list\"}", 25);
	assert_string_equal(r, ERR("CommandNotFound", "the command \\\"domain-list\\\" is not available in this daemon"));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_nul_and_handler_errors),
		cmocka_unit_test(test_query_commands),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_utf8_prefix),
		cmocka_unit_test(test_reply_limit),
		cmocka_unit_test(test_session_lines),
		cmocka_unit_test(test_session_byte_by_byte),
		cmocka_unit_test(test_session_limits),
		cmocka_unit_test(test_session_backpressure),
		cmocka_unit_test(test_session_shared_budget),
		cmocka_unit_test(test_conlog),
		cmocka_unit_test(test_cred_policy),
		cmocka_unit_test_setup_teardown(test_fw_list_and_create, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_fw_sched, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_fw_vcoproc_set, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_fw_trace, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_fw_console, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_fw_no_host, fw_setup, fw_teardown),
	};

	size_t n = sizeof(tests) / sizeof(tests[0]);

	/* The backend cases (the last six) drive credit and rr. */
	if (!vc_sched_lookup("credit") || !vc_sched_lookup("rr")) {
		fprintf(stderr, "built without credit or rr: backend cases left out\n");
		n -= 6;
	}
	return _cmocka_run_group_tests("ctl-proto", tests, n, NULL, NULL);
}
