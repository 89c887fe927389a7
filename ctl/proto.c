// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - requests, replies and the framing of a stream
 *
 * ctl_handle_line() is the whole protocol short of sockets.  A request
 * line goes through these checks, each failure an error reply:
 *
 *   1. the line holds no NUL byte;
 *   2. it is one strict JSON document and nothing but blank space follows
 *      it (the scanner below: RFC 8259, strict UTF-8, no NUL in any
 *      string, no NaN or Infinity, integers that fit 64 bits, nesting at
 *      most CTL_JSON_DEPTH);
 *   3. json-c builds it; it is an object, and no object in it names a
 *      member twice;
 *   4. its members are "execute" (a string, required), "arguments" (an
 *      object, optional) and "id" (anything, echoed as it was written);
 *   5. the command exists (CommandNotFound) and every argument name is
 *      one it takes;
 *   6. the handler checks the argument values and runs.
 *
 * Replies are valid UTF-8 and at most CTL_REPLY_LIMIT bytes (a larger one
 * becomes an error saying so).
 *
 * The framing (struct ctl_session) cuts a byte stream into lines of at
 * most CTL_REQUEST_MAX bytes; a line that outgrows the limit is answered
 * with an error and the session is marked closing.  Lines are handled
 * only while the replies waiting stay under CTL_OUT_HIGH (backpressure).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vcoproc/errno.h>

#include "ctl.h"

#include "vcoproc-config.h"

static const char *const class_names[] = {
	[CTL_ERR_GENERIC] = "GenericError",
	[CTL_ERR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[CTL_ERR_DEVICE_NOT_FOUND] = "DeviceNotFound",
	[CTL_ERR_PERMISSION_DENIED] = "PermissionDenied",
};

const char *ctl_err_class_name(enum ctl_err_class cls)
{
	if ((unsigned int)cls < VC_ARRAY_SIZE(class_names) && class_names[cls])
		return class_names[cls];
	return "GenericError";
}

/* Whether @s starts a character that its end (the NUL) cuts short. */
static bool utf8_cut_at_end(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t need = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 && c <= 0xef ? 2 :
		      c >= 0xc2 && c <= 0xdf ? 1 : 0;
	size_t k;

	for (k = 1; k <= need && s[k]; k++)
		if (((unsigned char)s[k] & 0xc0) != 0x80)
			return false;
	return need && k <= need;
}

int ctl_utf8_prefix(const char *s, int max)
{
	size_t n = strnlen(s, max > 0 ? (size_t)max : 0), i = 0;

	while (i < n) {
		size_t len = vc_utf8_seq(s + i, n - i);

		if (!len) {
			/* A character cut by @max or by the end ends the prefix; a bad byte is kept. */
			if (vc_utf8_seq(s + i, strlen(s + i)) || utf8_cut_at_end(s + i))
				break;
			len = 1;
		}
		i += len;
	}
	return (int)i;
}

/* Cut a character left incomplete at the end of @s (by a vsnprintf() that ran out of room). */
static void utf8_trim(char *s)
{
	size_t n = strlen(s);

	s[ctl_utf8_prefix(s, (int)n)] = '\0';
}

int ctl_error_set(struct ctl_error *err, enum ctl_err_class cls, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->cls = cls;
		va_start(ap, fmt);
		vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
		va_end(ap);
		utf8_trim(err->desc);
	}
	return -VC_EINVAL;
}

/* ---- arguments -------------------------------------------------------------- */

static const char *json_type_word(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

int ctl_arg_string(struct json_object *args, const char *name, bool required,
		   const char **out, struct ctl_error *err)
{
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(args, name, &v)) {
		if (required)
			return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"%s\"", name);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return ctl_error_set(err, CTL_ERR_GENERIC, "argument \"%s\": expected a string, found %s",
				     name, json_type_word(v));
	s = json_object_get_string(v);
	/* "\u0000" decodes to a NUL byte that C strings cannot carry. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a string, found one holding a NUL character",
				     name);
	*out = s;
	return 0;
}

int ctl_arg_uint_range(struct json_object *args, const char *name, bool required, uint64_t min,
		       uint64_t max, uint64_t *out, struct ctl_error *err)
{
	struct json_object *v;
	uint64_t u;

	if (!json_object_object_get_ex(args, name, &v)) {
		if (required)
			return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"%s\"", name);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from %llu to %llu, found %s",
				     name, (unsigned long long)min, (unsigned long long)max,
				     json_type_word(v));
	/* The scanner let through only integers json-c holds exactly. */
	if (json_object_get_int64(v) < 0)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from %llu to %llu, found %lld",
				     name, (unsigned long long)min, (unsigned long long)max,
				     (long long)json_object_get_int64(v));
	u = json_object_get_uint64(v);
	if (u < min || u > max)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from %llu to %llu, found %llu",
				     name, (unsigned long long)min, (unsigned long long)max,
				     (unsigned long long)u);
	*out = u;
	return 0;
}

int ctl_arg_uint(struct json_object *args, const char *name, bool required, uint64_t max,
		 uint64_t *out, struct ctl_error *err)
{
	return ctl_arg_uint_range(args, name, required, 0, max, out, err);
}

int ctl_arg_domain(struct json_object *args, const char *name, char *buf, size_t len,
		   struct ctl_error *err)
{
	struct json_object *v = NULL;
	const char *s;
	int r;

	if (json_object_object_get_ex(args, name, &v) && json_object_is_type(v, json_type_int)) {
		uint64_t id = 0;

		r = ctl_arg_uint(args, name, true, UINT32_MAX, &id, err);
		if (r)
			return r;
		snprintf(buf, len, "%llu", (unsigned long long)id);
		return 0;
	}
	if (v && !json_object_is_type(v, json_type_string))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a domain name or id, found %s", name,
				     json_type_word(v));
	r = ctl_arg_string(args, name, true, &s, err);
	if (r)
		return r;
	if (!s[0] || strlen(s) >= len)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a domain name or id of 1 to %zu characters",
				     name, len - 1);
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

/* ---- the strict scanner ------------------------------------------------------- */

/*
 * Before json-c sees a request line, it is scanned once against RFC 8259
 * with what json-c lets through taken out: every string is valid UTF-8
 * (vc_utf8_seq(): no overlong form, no surrogate, nothing past U+10FFFF)
 * without raw control characters, a \u escape of a surrogate is half of a
 * pair, no string holds a NUL (raw or \u0000: C strings cannot carry it,
 * so a name would be cut short), numbers follow the grammar (no NaN, no
 * Infinity, no leading zeros) and integers outside the "id" fit 64 bits
 * (json-c would clamp them).  The scanner also counts the members of
 * every object (a name given twice, which json-c would keep once, shows as
 * a difference) and finds the text of the top-level "id", which is echoed
 * as it was written.
 */
struct jscan {
	const char *p;
	size_t len, pos;
	size_t members;          /* members of every object */
	size_t id_start, id_end; /* the top-level "id" value; id_end 0: none */
	bool in_id;              /* scanning that value */
	bool eof;                /* the line ended inside the document */
	char err[CTL_DESC_MAX];
};

static bool scan_fail(struct jscan *js, const char *fmt, ...) VC_PRINTF(2, 3);

static bool scan_fail(struct jscan *js, const char *fmt, ...)
{
	va_list ap;

	if (!js->err[0]) {
		va_start(ap, fmt);
		vsnprintf(js->err, sizeof(js->err), fmt, ap);
		va_end(ap);
	}
	return false;
}

static void scan_ws(struct jscan *js)
{
	while (js->pos < js->len && (js->p[js->pos] == ' ' || js->p[js->pos] == '\t' ||
				     js->p[js->pos] == '\r'))
		js->pos++;
}

static bool scan_more(struct jscan *js)
{
	if (js->pos < js->len)
		return true;
	js->eof = true;
	return false;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * A string at js->pos (on its '"').  When @key is not NULL, its first
 * @keylen - 1 decoded bytes are stored there (ASCII only; anything else
 * stores '?'), NUL-terminated, and *@long_key tells whether there were more.
 */
static bool scan_string(struct jscan *js, char *key, size_t keylen, bool *long_key)
{
	size_t kn = 0;

	js->pos++;

	for (;;) {
		unsigned char c;
		size_t n;
		int u, lo;

		if (!scan_more(js))
			return false;
		c = (unsigned char)js->p[js->pos];
		if (c == '"') {
			js->pos++;
			break;
		}
		if (c == '\\') {
			if (js->pos + 1 >= js->len) {
				js->pos = js->len;
				return scan_more(js);
			}
			c = (unsigned char)js->p[js->pos + 1];
			if (c != 'u') {
				if (!strchr("\"\\/bfnrt", c))
					return scan_fail(js, "bad JSON at byte %zu: an unknown escape \\%c",
							 js->pos, c >= 0x20 && c < 0x7f ? c : '?');
				js->pos += 2;
				c = '?';
				goto store;
			}
			if (js->pos + 6 > js->len) {
				js->pos = js->len;
				return scan_more(js);
			}
			u = hex4(js->p + js->pos + 2);
			if (u < 0)
				return scan_fail(js, "bad JSON at byte %zu: a \\u escape without 4 hex digits",
						 js->pos);
			if (!u)
				return scan_fail(js, "a NUL character (\\u0000) at byte %zu: NUL is refused in every string",
						 js->pos);
			if (u >= 0xdc00 && u <= 0xdfff)
				return scan_fail(js, "an unpaired surrogate (\\u%04x) at byte %zu", u,
						 js->pos);
			if (u >= 0xd800 && u <= 0xdbff) {
				lo = js->pos + 12 <= js->len && js->p[js->pos + 6] == '\\' &&
				     js->p[js->pos + 7] == 'u' ? hex4(js->p + js->pos + 8) : -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return scan_fail(js, "an unpaired surrogate (\\u%04x) at byte %zu", u,
							 js->pos);
				js->pos += 6;
			}
			js->pos += 6;
			c = u < 0x80 ? (unsigned char)u : '?';
			goto store;
		}
		if (c < 0x20)
			return c ? scan_fail(js, "a control character (0x%02x) in a string at byte %zu: escape it",
					     c, js->pos) :
				   scan_fail(js, "a NUL byte at byte %zu", js->pos);
		n = vc_utf8_seq(js->p + js->pos, js->len - js->pos);
		if (!n)
			return scan_fail(js, "invalid UTF-8 at byte %zu (an overlong form, a surrogate, a code point past U+10FFFF or a stray byte)",
					 js->pos);
		js->pos += n;
		if (n > 1)
			c = '?';
store:
		if (key) {
			if (kn + 1 < keylen)
				key[kn] = (char)c;
			else
				*long_key = true;
			kn++;
		}
	}
	if (key)
		key[kn < keylen ? kn : keylen - 1] = '\0';
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether the integer digits @d (@n of them, no sign) exceed @limit. */
static bool digits_over(const char *d, size_t n, const char *limit)
{
	size_t ln = strlen(limit);

	return n > ln || (n == ln && memcmp(d, limit, n) > 0);
}

static bool scan_number(struct jscan *js)
{
	size_t at = js->pos, int_start;
	bool neg = false, integer = true;

	if (js->p[js->pos] == '-') {
		neg = true;
		js->pos++;
	}
	if (!scan_more(js))
		return false;
	int_start = js->pos;
	if (js->p[js->pos] == '0') {
		js->pos++;
	} else if (is_digit(js->p[js->pos])) {
		while (js->pos < js->len && is_digit(js->p[js->pos]))
			js->pos++;
	} else {
		if (!strncmp(js->p + js->pos, "Infinity", 8))
			return scan_fail(js, "-Infinity at byte %zu: not JSON (a number is finite)", at);
		return scan_fail(js, "bad JSON at byte %zu: a malformed number", at);
	}
	if (js->pos < js->len && js->p[js->pos] == '.') {
		integer = false;
		js->pos++;
		if (js->pos >= js->len || !is_digit(js->p[js->pos]))
			return js->pos >= js->len ? scan_more(js) :
			       scan_fail(js, "bad JSON at byte %zu: a malformed number", at);
		while (js->pos < js->len && is_digit(js->p[js->pos]))
			js->pos++;
	}
	if (js->pos < js->len && (js->p[js->pos] == 'e' || js->p[js->pos] == 'E')) {
		integer = false;
		js->pos++;
		if (js->pos < js->len && (js->p[js->pos] == '+' || js->p[js->pos] == '-'))
			js->pos++;
		if (js->pos >= js->len || !is_digit(js->p[js->pos]))
			return js->pos >= js->len ? scan_more(js) :
			       scan_fail(js, "bad JSON at byte %zu: a malformed number", at);
		while (js->pos < js->len && is_digit(js->p[js->pos]))
			js->pos++;
	}
	if (integer && !js->in_id &&
	    digits_over(js->p + int_start, js->pos - int_start,
			neg ? "9223372036854775808" : "18446744073709551615"))
		return scan_fail(js, "an integer out of range at byte %zu (integers are -9223372036854775808 to 18446744073709551615)",
				 at);
	return true;
}

static bool scan_value(struct jscan *js, unsigned int depth);

static bool scan_container(struct jscan *js, unsigned int depth)
{
	bool object = js->p[js->pos] == '{';
	char close = object ? '}' : ']';

	if (depth >= CTL_JSON_DEPTH)
		return scan_fail(js, "nesting deeper than %u at byte %zu", CTL_JSON_DEPTH, js->pos);
	js->pos++;
	scan_ws(js);
	if (!scan_more(js))
		return false;
	if (js->p[js->pos] == close) {
		js->pos++;
		return true;
	}
	for (;;) {
		if (object) {
			char key[4];
			bool long_key = false;

			if (!scan_more(js))
				return false;
			if (js->p[js->pos] != '"')
				return scan_fail(js, "bad JSON at byte %zu: expected a member name in quotes",
						 js->pos);
			if (!scan_string(js, key, sizeof(key), &long_key))
				return false;
			js->members++;
			scan_ws(js);
			if (!scan_more(js))
				return false;
			if (js->p[js->pos] != ':')
				return scan_fail(js, "bad JSON at byte %zu: expected ':'", js->pos);
			js->pos++;
			scan_ws(js);
			if (!depth && !long_key && !strcmp(key, "id")) {
				js->in_id = true;
				js->id_start = js->pos;
				if (!scan_value(js, depth + 1))
					return false;
				js->id_end = js->pos;
				js->in_id = false;
			} else if (!scan_value(js, depth + 1)) {
				return false;
			}
		} else if (!scan_value(js, depth + 1)) {
			return false;
		}
		scan_ws(js);
		if (!scan_more(js))
			return false;
		if (js->p[js->pos] == close) {
			js->pos++;
			return true;
		}
		if (js->p[js->pos] != ',')
			return scan_fail(js, "bad JSON at byte %zu: expected ',' or '%c'", js->pos, close);
		js->pos++;
		scan_ws(js);
	}
}

static bool scan_literal(struct jscan *js, const char *word)
{
	size_t n = strlen(word), have = VC_MIN(n, js->len - js->pos);

	if (memcmp(js->p + js->pos, word, have))
		return scan_fail(js, "bad JSON at byte %zu: expected a value", js->pos);
	js->pos += have;
	return have == n || scan_more(js);
}

static bool scan_value(struct jscan *js, unsigned int depth)
{
	char c;

	scan_ws(js);
	if (!scan_more(js))
		return false;
	c = js->p[js->pos];
	switch (c) {
	case '{':
	case '[':
		return scan_container(js, depth);
	case '"':
		return scan_string(js, NULL, 0, NULL);
	case 't':
		return scan_literal(js, "true");
	case 'f':
		return scan_literal(js, "false");
	case 'n':
		return scan_literal(js, "null");
	case 'N':
		if (!strncmp(js->p + js->pos, "NaN", 3))
			return scan_fail(js, "NaN at byte %zu: not JSON (a number is finite)", js->pos);
		break;
	case 'I':
		if (!strncmp(js->p + js->pos, "Infinity", 8))
			return scan_fail(js, "Infinity at byte %zu: not JSON (a number is finite)",
					 js->pos);
		break;
	default:
		if (c == '-' || is_digit(c))
			return scan_number(js);
		break;
	}
	return scan_fail(js, "bad JSON at byte %zu: expected a value", js->pos);
}

/* Members of every object of @v, as json-c kept them. */
static size_t count_members(struct json_object *v)
{
	size_t n = 0;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			(void)key;
			n += 1 + count_members(val);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			n += count_members(json_object_array_get_idx(v, i));
	}
	return n;
}

/*
 * The id's text as it was written, without the blank space between its
 * tokens, in a json-c object that serializes as that text (a new
 * reference); NULL when there is no id (or no memory).
 */
static struct json_object *raw_id(const struct jscan *js)
{
	struct json_object *o;
	bool in_str = false;
	size_t n = 0;
	char *t;

	if (!js->id_end)
		return NULL;
	t = malloc(js->id_end - js->id_start + 1);
	if (!t)
		return NULL;
	for (size_t i = js->id_start; i < js->id_end; i++) {
		char c = js->p[i];

		if (!in_str && (c == ' ' || c == '\t' || c == '\r'))
			continue;
		if (in_str && c == '\\') {
			t[n++] = c;
			t[n++] = js->p[++i];
			continue;
		}
		if (c == '"')
			in_str = !in_str;
		t[n++] = c;
	}
	t[n] = '\0';
	o = json_object_new_object();
	if (!o) {
		free(t);
		return NULL;
	}
	json_object_set_serializer(o, json_object_userdata_to_json_string, t,
				   json_object_free_userdata);
	return o;
}

/* ---- one request -------------------------------------------------------------- */

/* Bytes of @t that are not valid UTF-8 become '?' (they can only be inside strings). */
static void utf8_repair(char *t, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = vc_utf8_seq(t + i, n - i);

		if (!len)
			t[i++] = '?';
		else
			i += len;
	}
}

static struct json_object *error_object(enum ctl_err_class cls, const char *desc);

/*
 * @obj, with "id" when there is one, as a reply line; consumes @obj.  A
 * reply over CTL_REPLY_LIMIT is replaced by an error saying so; text that
 * is not valid UTF-8 (it cannot come from a request, which is checked, but
 * a handler may quote something cut short) is repaired, so every reply is
 * valid UTF-8.
 */
static char *finish_reply(struct json_object *obj, struct json_object *id, size_t *reply_len)
{
	const char *text;
	size_t n;
	char *line = NULL;

	if (!obj)
		return NULL;
	if (id)
		json_object_object_add(obj, "id", json_object_get(id));
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	n = text ? strlen(text) : 0;
	if (text && n + 1 > CTL_REPLY_LIMIT) {
		char desc[CTL_DESC_MAX];

		snprintf(desc, sizeof(desc),
			 "reply too large: %zu bytes, a reply may have at most %u", n + 1,
			 CTL_REPLY_LIMIT);
		json_object_put(obj);
		return finish_reply(error_object(CTL_ERR_GENERIC, desc), id, reply_len);
	}
	if (text) {
		line = malloc(n + 2);
		if (line) {
			memcpy(line, text, n);
			utf8_repair(line, n);
			line[n] = '\n';
			line[n + 1] = '\0';
			*reply_len = n + 1;
		}
	}
	json_object_put(obj);
	return line;
}

static struct json_object *error_object(enum ctl_err_class cls, const char *desc)
{
	struct json_object *e = json_object_new_object(), *reply = json_object_new_object();

	if (!e || !reply) {
		json_object_put(e);
		json_object_put(reply);
		return NULL;
	}
	json_object_object_add(e, "class", json_object_new_string(ctl_err_class_name(cls)));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(reply, "error", e);
	return reply;
}

char *ctl_error_reply(enum ctl_err_class cls, const char *desc, size_t *reply_len)
{
	return finish_reply(error_object(cls, desc), NULL, reply_len);
}

static char *errorf_reply(struct json_object *id, size_t *reply_len, enum ctl_err_class cls,
			  const char *fmt, ...) VC_PRINTF(4, 5);

static char *errorf_reply(struct json_object *id, size_t *reply_len, enum ctl_err_class cls,
			  const char *fmt, ...)
{
	char desc[CTL_DESC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	utf8_trim(desc);
	return finish_reply(error_object(cls, desc), id, reply_len);
}

static const struct ctl_command *find_command(const struct ctl_ops *ops, const char *name)
{
	for (const struct ctl_command *c = ops ? ops->commands : NULL; c && c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* The protocol's own commands. */
static struct json_object *query_version(void)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "version", json_object_new_string(VC_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(CTL_PROTOCOL_VERSION));
	return r;
}

static struct json_object *query_commands(const struct ctl_ops *ops)
{
	struct json_object *arr = json_object_new_array();
	static const struct ctl_command own[] = {
		{ .name = "query-version", .help = "the daemon's version and protocol version" },
		{ .name = "query-commands", .help = "the commands this daemon answers" },
	};

	for (size_t i = 0; i < VC_ARRAY_SIZE(own); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(own[i].name));
		json_object_object_add(o, "help", json_object_new_string(own[i].help));
		json_object_array_add(arr, o);
	}
	for (const struct ctl_command *c = ops ? ops->commands : NULL; c && c->name; c++) {
		struct json_object *o, *a;

		if (!c->handler)
			continue;
		o = json_object_new_object();
		a = json_object_new_array();
		for (const char *const *n = c->args; n && *n; n++)
			json_object_array_add(a, json_object_new_string(*n));
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "arguments", a);
		if (c->help)
			json_object_object_add(o, "help", json_object_new_string(c->help));
		json_object_array_add(arr, o);
	}
	return arr;
}

static bool takes_arg(const struct ctl_command *c, const char *name)
{
	for (const char *const *n = c->args; n && *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

/* Steps 4 to 6 of the DOC comment, on the parsed request @req; @id is echoed. */
static char *run_request(const struct ctl_ops *ops, void *opaque, struct json_object *req,
			 struct json_object *id, size_t *reply_len)
{
	struct json_object *exec = NULL, *args = NULL, *ret = NULL, *reply;
	struct ctl_error err = { .cls = CTL_ERR_GENERIC };
	const struct ctl_command *cmd;
	const char *name;
	bool own_args = false;
	char *line;
	int r;

	{
		json_object_object_foreach(req, key, val) {
			(void)val;
			if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id"))
				return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
						    "unexpected member \"%.*s\" (a request has \"execute\", \"arguments\", \"id\")",
						    ctl_utf8_prefix(key, 40), key);
		}
	}
	if (!json_object_object_get_ex(req, "execute", &exec))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "expected member \"execute\" (the command), found none");
	if (!json_object_is_type(exec, json_type_string))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "member \"execute\": expected a string, found %s",
				    json_type_word(exec));
	name = json_object_get_string(exec);
	if (json_object_object_get_ex(req, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "member \"arguments\": expected an object, found %s",
				    json_type_word(args));

	if (!strcmp(name, "query-version") || !strcmp(name, "query-commands")) {
		if (args && json_object_object_length(args))
			return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
					    "%s takes no arguments", name);
		reply = json_object_new_object();
		json_object_object_add(reply, "return", !strcmp(name, "query-version") ?
				       query_version() : query_commands(ops));
		return finish_reply(reply, id, reply_len);
	}
	cmd = find_command(ops, name);
	if (!cmd || !cmd->handler)
		return errorf_reply(id, reply_len, CTL_ERR_COMMAND_NOT_FOUND,
				    "the command \"%.*s\" has not been found",
				    ctl_utf8_prefix(name, 60), name);
	if (!args) {
		args = json_object_new_object();
		if (!args)
			return NULL;
		own_args = true;
	}
	{
		json_object_object_foreach(args, key, val) {
			(void)val;
			if (!takes_arg(cmd, key)) {
				if (own_args)
					json_object_put(args);
				return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
						    "%s: unexpected argument \"%.*s\"", cmd->name,
						    ctl_utf8_prefix(key, 40), key);
			}
		}
	}
	err.desc[0] = '\0';
	r = cmd->handler(opaque, args, &ret, &err);
	if (own_args)
		json_object_put(args);
	if (r < 0) {
		json_object_put(ret);
		if (!err.desc[0])
			snprintf(err.desc, sizeof(err.desc), "%s: %s", cmd->name, vc_strerror(r));
		return finish_reply(error_object(err.cls, err.desc), id, reply_len);
	}
	reply = json_object_new_object();
	if (!reply) {
		json_object_put(ret);
		return NULL;
	}
	json_object_object_add(reply, "return", ret ? ret : json_object_new_object());
	line = finish_reply(reply, id, reply_len);
	return line;
}

char *ctl_handle_line(const struct ctl_ops *ops, void *opaque, const char *line, size_t len,
		      size_t *reply_len)
{
	struct jscan js = { .p = line, .len = len };
	struct json_tokener *tok;
	struct json_object *req, *id;
	enum json_tokener_error jerr;
	char *reply;

	if (memchr(line, '\0', len))
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found a NUL byte");
	if (!scan_value(&js, 0)) {
		if (js.eof && !js.err[0])
			return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
					    "expected a JSON object, found an incomplete one");
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found %s", js.err);
	}
	scan_ws(&js);
	if (js.pos < len)
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected one JSON object per line, found more at byte %zu",
				    js.pos);

	/* Valid, strict JSON: json-c builds the tree. */
	tok = json_tokener_new_ex(CTL_JSON_DEPTH + 1);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* The end of the line ends a number or a literal ("null"). */
		req = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);
	if (!req && jerr == json_tokener_success)
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found null");
	if (!req || jerr != json_tokener_success) {
		json_object_put(req);
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found JSON this daemon cannot read: %s",
				    json_tokener_error_desc(jerr));
	}
	if (!json_object_is_type(req, json_type_object)) {
		reply = errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				     "expected a JSON object, found %s", json_type_word(req));
		json_object_put(req);
		return reply;
	}
	if (count_members(req) != js.members) {
		json_object_put(req);
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object with unique member names, found a name given twice");
	}
	id = raw_id(&js);
	if (js.id_end && !id) {
		json_object_put(req);
		return NULL;
	}
	reply = run_request(ops, opaque, req, id, reply_len);
	json_object_put(id);
	json_object_put(req);
	return reply;
}

/* ---- framing ------------------------------------------------------------------- */

void ctl_session_init(struct ctl_session *s, const struct ctl_ops *ops, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->opaque = opaque;
}

void ctl_session_fini(struct ctl_session *s)
{
	if (s->shared)
		*s->shared -= ctl_session_pending(s);
	free(s->in);
	free(s->out);
	memset(s, 0, sizeof(*s));
}

static int buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		char *nb;

		while (ncap < *len + n)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -VC_ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

static int queue_reply(struct ctl_session *s, char *reply, size_t n)
{
	int r;

	if (!reply)
		return -VC_ENOMEM;
	r = buf_append(&s->out, &s->out_len, &s->out_cap, reply, n);
	free(reply);
	if (!r && s->shared)
		*s->shared += n;
	return r;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static int handle(struct ctl_session *s, const char *line, size_t n)
{
	size_t rlen = 0;
	char *reply;

	if (blank(line, n))
		return 0;
	s->requests++;
	reply = ctl_handle_line(s->ops, s->opaque, line, n, &rlen);
	/* A large reply waits for room among everybody's unread replies. */
	if (reply && s->shared && rlen > CTL_OUT_SMALL && *s->shared + rlen > CTL_OUT_TOTAL) {
		char desc[CTL_DESC_MAX];

		snprintf(desc, sizeof(desc),
			 "busy: %zu bytes of replies wait to be read by their clients, a reply of %zu bytes would pass %u; try again later",
			 *s->shared, rlen, CTL_OUT_TOTAL);
		free(reply);
		reply = ctl_error_reply(CTL_ERR_GENERIC, desc, &rlen);
	}
	return queue_reply(s, reply, rlen);
}

static int too_large(struct ctl_session *s)
{
	char desc[CTL_DESC_MAX], *reply;
	size_t rlen = 0;

	snprintf(desc, sizeof(desc), "request too large: expected at most %u bytes per line",
		 CTL_REQUEST_MAX);
	s->closing = true;
	s->in_len = s->in_off = 0;
	reply = ctl_error_reply(CTL_ERR_GENERIC, desc, &rlen);
	return queue_reply(s, reply, rlen);
}

int ctl_session_append(struct ctl_session *s, const char *data, size_t len)
{
	if (s->closing || s->eof || !len)
		return 0;
	/* Drop what was handled before the buffer grows. */
	if (s->in_off && s->in_len + len > s->in_cap) {
		memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_off = 0;
	}
	return buf_append(&s->in, &s->in_len, &s->in_cap, data, len);
}

int ctl_session_process(struct ctl_session *s, unsigned int max_lines)
{
	unsigned int lines = 0;
	int r = 0;

	while (!s->closing && ctl_session_pending(s) < CTL_OUT_HIGH &&
	       (!max_lines || lines < max_lines)) {
		/* No input buffer yet: nothing to read (no offset into NULL). */
		const char *p = s->in ? s->in + s->in_off : NULL;
		size_t avail = s->in_len - s->in_off;
		const char *nl = avail ? memchr(p, '\n', avail) : NULL;
		size_t take = nl ? (size_t)(nl - p) : avail;

		/* A line longer than the limit is refused before it is handled. */
		if (take + (nl ? 1 : 0) > CTL_REQUEST_MAX)
			return too_large(s);
		if (!nl) {
			if (!s->eof)
				break;
			/* The end of the stream ends the last line. */
			r = take ? handle(s, p, take) : 0;
			s->in_len = s->in_off = 0;
			s->closing = true;
			break;
		}
		s->in_off += take + 1;
		lines++;
		r = handle(s, p, take);
		if (r)
			break;
	}
	if (s->in_off == s->in_len)
		s->in_off = s->in_len = 0;
	/* Give back a big buffer once it is drained. */
	if (!s->in_len && s->in_cap > 2 * CTL_REQUEST_MAX) {
		free(s->in);
		s->in = NULL;
		s->in_cap = 0;
	}
	return r;
}

int ctl_session_input(struct ctl_session *s, const char *data, size_t len)
{
	int r = ctl_session_append(s, data, len);

	return r ? r : ctl_session_process(s, 0);
}

int ctl_session_eof(struct ctl_session *s)
{
	s->eof = true;
	return ctl_session_process(s, 0);
}

bool ctl_session_backlog(const struct ctl_session *s)
{
	if (s->closing || ctl_session_pending(s) >= CTL_OUT_HIGH)
		return false;
	return s->eof || (s->in_len > s->in_off &&
			  memchr(s->in + s->in_off, '\n', s->in_len - s->in_off));
}

bool ctl_session_wants_input(const struct ctl_session *s)
{
	return !s->closing && !s->eof && ctl_session_pending(s) < CTL_OUT_HIGH &&
	       !ctl_session_backlog(s);
}

size_t ctl_session_pending(const struct ctl_session *s)
{
	return s->out_len - s->out_off;
}

void ctl_session_consumed(struct ctl_session *s, size_t n)
{
	s->out_off += n;
	if (s->shared)
		*s->shared -= n;
	if (s->out_off >= s->out_len) {
		s->out_off = s->out_len = 0;
		/* Give back a big buffer once it is drained (a trace export). */
		if (s->out_cap > CTL_OUT_HIGH) {
			free(s->out);
			s->out = NULL;
			s->out_cap = 0;
		}
	}
}
