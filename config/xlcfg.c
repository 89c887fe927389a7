// SPDX-License-Identifier: MIT
/*
 * DOC: xl.cfg reader - lexer and recursive-descent parser
 *
 * The grammar (Xen's libxlu_cfg_y.y, made a little more forgiving, see
 * xlcfg.h):
 *
 *   file     := { stmt }
 *   stmt     := [ KEY ( '=' | '+=' ) value ] ( NEWLINE | ';' | EOF )
 *   value    := STRING | NUMBER | '[' nl [ items ] ']'
 *   items    := value nl { ',' nl value nl } [ ',' nl ]
 *   nl       := { NEWLINE }
 *
 * The lexer turns the text into tokens one at a time; the parser asks for
 * the next one when it needs it and reports the first token it cannot use
 * as "expected X, found Y" at that token's position.  Every node and
 * string lives in an arena that xlcfg_free() drops in one go, so an error
 * anywhere needs no unwinding of half-built values.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "xlcfg.h"

/* ---- arena ------------------------------------------------------------------ */

struct xlcfg_arena {
	struct xlcfg_arena *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_CHUNK (64u * 1024u)

/* @size bytes, aligned for anything, zeroed; NULL when out of memory. */
static void *arena_alloc(struct xlcfg *cfg, size_t size)
{
	struct xlcfg_arena *a = cfg->arena;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!a || a->size - a->used < need) {
		size_t sz = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		a = calloc(1, sizeof(*a) + sz);
		if (!a)
			return NULL;
		a->size = sz;
		a->next = cfg->arena;
		cfg->arena = a;
	}
	p = (char *)a->data + a->used;
	a->used += need;
	return p;
}

static char *arena_strndup(struct xlcfg *cfg, const char *s, size_t n)
{
	char *p = arena_alloc(cfg, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void xlcfg_free(struct xlcfg *cfg)
{
	struct xlcfg_arena *a, *next;

	if (!cfg)
		return;
	for (a = cfg->arena; a; a = next) {
		next = a->next;
		free(a);
	}
	free(cfg);
}

/* ---- messages ---------------------------------------------------------------- */

int xlcfg_errorf(const char *fname, struct xlcfg_pos pos, char *err, size_t errlen,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return -VC_EINVAL;
	n = snprintf(err, errlen, "%s:%u:%u: ", fname ? fname : "<input>", pos.line, pos.col);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -VC_EINVAL;
}

const char *xlcfg_type_name(enum xlcfg_type t)
{
	switch (t) {
	case XLCFG_STRING:
		return "string";
	case XLCFG_NUMBER:
		return "number";
	case XLCFG_LIST:
		return "list";
	}
	return "?";
}

#define SHOW_MAX 40 /* characters of a string shown in a message */

/* @s (@n bytes) in double quotes with C escapes, cut short after SHOW_MAX. */
static void quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t tl;

		if (i == SHOW_MAX) {
			if (o + 4 < len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '"' || c == '\\')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c == '\n')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (c == '\t')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (c < 0x20 || c == 0x7f)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else
			tl = (size_t)snprintf(tmp, sizeof(tmp), "%c", c);
		if (o + tl + 2 > len)
			break;
		memcpy(buf + o, tmp, tl);
		o += tl;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

void xlcfg_describe(const struct xlcfg_value *v, char *buf, size_t len)
{
	char q[SHOW_MAX * 4 + 8];

	if (!len)
		return;
	switch (v->type) {
	case XLCFG_STRING:
		quote(v->str, v->len, q, sizeof(q));
		snprintf(buf, len, "string %s", q);
		break;
	case XLCFG_NUMBER:
		snprintf(buf, len, "number %s", v->str);
		break;
	case XLCFG_LIST:
		snprintf(buf, len, "list of %u", v->nr_items);
		break;
	}
}

/* ---- lexer -------------------------------------------------------------------- */

enum tok_type {
	T_EOF,
	T_NL,
	T_SEMI,
	T_EQ,
	T_PLUSEQ,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_KEY,
	T_STRING,
	T_NUMBER,
	T_OTHER, /* a character no token starts with */
};

struct tok {
	enum tok_type type;
	struct xlcfg_pos pos;
	const char *raw;      /* the token's text */
	size_t rawlen;
	char *str;            /* T_STRING: unescaped (arena); T_KEY, T_NUMBER: raw copy */
	size_t len;
	bool verbatim;
	uint64_t num;
};

struct parser {
	struct xlcfg *cfg;
	const char *p, *end;
	struct xlcfg_pos at;  /* position of *p */
	char *err;
	size_t errlen;
	bool nomem;
};

static bool is_key_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_key_char(int c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What a message says was found for token @t. */
static void tok_describe(const struct tok *t, char *buf, size_t len)
{
	char q[SHOW_MAX * 4 + 8];
	unsigned char c;

	switch (t->type) {
	case T_EOF:
		snprintf(buf, len, "end of file");
		break;
	case T_NL:
		snprintf(buf, len, "end of line");
		break;
	case T_SEMI:
		snprintf(buf, len, "';'");
		break;
	case T_EQ:
		snprintf(buf, len, "'='");
		break;
	case T_PLUSEQ:
		snprintf(buf, len, "'+='");
		break;
	case T_LBRACK:
		snprintf(buf, len, "'['");
		break;
	case T_RBRACK:
		snprintf(buf, len, "']'");
		break;
	case T_COMMA:
		snprintf(buf, len, "','");
		break;
	case T_KEY:
		quote(t->raw, t->rawlen, q, sizeof(q));
		snprintf(buf, len, "name %s", q);
		break;
	case T_STRING:
		quote(t->str, t->len, q, sizeof(q));
		snprintf(buf, len, "string %s", q);
		break;
	case T_NUMBER:
		snprintf(buf, len, "number %.*s", (int)(t->rawlen > SHOW_MAX ? SHOW_MAX : t->rawlen),
			 t->raw);
		break;
	case T_OTHER:
		c = (unsigned char)t->raw[0];
		if (c > 0x20 && c < 0x7f && c != '\'')
			snprintf(buf, len, "'%c'", c);
		else
			snprintf(buf, len, "byte 0x%02x", c);
		break;
	}
}

static int perr(struct parser *ps, struct xlcfg_pos pos, const char *fmt, ...) VC_PRINTF(3, 4);

static int perr(struct parser *ps, struct xlcfg_pos pos, const char *fmt, ...)
{
	char msg[XLCFG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xlcfg_errorf(ps->cfg->fname, pos, ps->err, ps->errlen, "%s", msg);
}

/* "expected @what, found <token>" at the token. */
static int unexpected(struct parser *ps, const struct tok *t, const char *what)
{
	char found[SHOW_MAX * 4 + 32];

	tok_describe(t, found, sizeof(found));
	return perr(ps, t->pos, "expected %s, found %s", what, found);
}

static int nomem(struct parser *ps)
{
	ps->nomem = true;
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s: out of memory",
			 ps->cfg->fname ? ps->cfg->fname : "<input>");
	return -VC_ENOMEM;
}

static void advance(struct parser *ps, size_t n)
{
	for (; n && ps->p < ps->end; n--, ps->p++) {
		if (*ps->p == '\n') {
			ps->at.line++;
			ps->at.col = 1;
		} else {
			ps->at.col++;
		}
	}
}

/* Apply the escape at *@pp (just past the backslash) to @out; advance *@pp. */
static int unescape_one(struct parser *ps, const char **pp, const char *stop, char *out,
			struct xlcfg_pos bs_pos)
{
	const char *p = *pp;
	int c = p < stop ? (unsigned char)*p : -1;
	unsigned int v;

	switch (c) {
	case '"': case '\'': case '\\':
		*out = (char)c;
		break;
	case 'a': *out = '\a'; break;
	case 'b': *out = '\b'; break;
	case 'f': *out = '\f'; break;
	case 'n': *out = '\n'; break;
	case 'r': *out = '\r'; break;
	case 't': *out = '\t'; break;
	case 'v': *out = '\v'; break;
	case 'x':
		if (stop - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
			return perr(ps, bs_pos, "expected two hex digits after \"\\x\", found \"%.*s\"",
				    (int)(stop - p > 3 ? 3 : stop - p), p);
		v = (unsigned int)(hexval(p[1]) * 16 + hexval(p[2]));
		if (!v)
			return perr(ps, bs_pos, "expected a character other than NUL, found \"\\%.3s\"", p);
		*out = (char)v;
		*pp = p + 3;
		return 0;
	default:
		if (c >= '0' && c <= '7') {
			const char *q = p;

			v = 0;
			while (q < stop && q - p < 3 && *q >= '0' && *q <= '7')
				v = v * 8 + (unsigned int)(*q++ - '0');
			if (!v || v > 0xff)
				return perr(ps, bs_pos,
					    "expected an octal character code from 1 to 377, found \"\\%.*s\"",
					    (int)(q - p), p);
			*out = (char)v;
			*pp = q;
			return 0;
		}
		if (c < 0)
			return perr(ps, bs_pos, "expected an escape sequence, found end of line");
		if (c > 0x20 && c < 0x7f)
			return perr(ps, bs_pos,
				    "expected an escape sequence (\\n, \\t, \\\", \\\\, \\xHH, ...), found \"\\%c\"",
				    c);
		return perr(ps, bs_pos, "expected an escape sequence, found byte 0x%02x", c);
	}
	*pp = p + 1;
	return 0;
}

/* A string starting at the quote *ps->p. */
static int lex_string(struct parser *ps, struct tok *t)
{
	char q = *ps->p;
	const char *s = ps->p + 1, *e = s;
	char *out;
	size_t n = 0;
	int r;

	while (e < ps->end && *e != q && *e != '\n' && *e != '\0') {
		if (q == '"' && *e == '\\' && e + 1 < ps->end && e[1] != '\n' && e[1] != '\0')
			e++;
		e++;
	}
	if (e >= ps->end || *e != q) {
		struct xlcfg_pos at = ps->at;

		at.col += (unsigned int)(e - ps->p);
		return perr(ps, at, "expected a closing %s, found %s", q == '"' ? "'\"'" : "\"'\"",
			    e >= ps->end ? "end of file" :
			    *e == '\n' ? "end of line" : "byte 0x00");
	}
	out = arena_alloc(ps->cfg, (size_t)(e - s) + 1);
	if (!out)
		return nomem(ps);
	t->verbatim = true;
	for (const char *p = s; p < e;) {
		if (q == '"' && *p == '\\') {
			struct xlcfg_pos bs = ps->at;

			bs.col += (unsigned int)(p - ps->p);
			p++;
			r = unescape_one(ps, &p, e, &out[n++], bs);
			if (r)
				return r;
			t->verbatim = false;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	t->type = T_STRING;
	t->str = out;
	t->len = n;
	t->rawlen = (size_t)(e + 1 - ps->p);
	return 0;
}

/* A number: decimal digits or 0x and hex digits, not followed by a name character. */
static int lex_number(struct parser *ps, struct tok *t)
{
	const char *p = ps->p, *e = p;
	uint64_t v = 0;
	unsigned int base = 10;
	bool overflow = false;

	if (ps->end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && hexval(p[2]) >= 0) {
		base = 16;
		e += 2;
	}
	for (; e < ps->end; e++) {
		int d = base == 16 ? hexval(*e) : (*e >= '0' && *e <= '9' ? *e - '0' : -1);

		if (d < 0)
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = true;
		v = v * base + (uint64_t)d;
	}
	if (e < ps->end && (is_key_char(*e) || *e == '.')) {
		while (e < ps->end && (is_key_char(*e) || *e == '.'))
			e++;
		return perr(ps, ps->at, "expected a number, found \"%.*s\"",
			    (int)(e - p > SHOW_MAX ? SHOW_MAX : e - p), p);
	}
	if (overflow)
		return perr(ps, ps->at, "expected a number below 2^64, found %.*s",
			    (int)(e - p > SHOW_MAX ? SHOW_MAX : e - p), p);
	t->type = T_NUMBER;
	t->num = v;
	t->rawlen = (size_t)(e - p);
	t->str = arena_strndup(ps->cfg, p, t->rawlen);
	if (!t->str)
		return nomem(ps);
	t->len = t->rawlen;
	return 0;
}

/* The next token into @t; 0 or an error (message written). */
static int lex(struct parser *ps, struct tok *t)
{
	const char *p;
	int r;

	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
			advance(ps, 1);
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				advance(ps, 1);
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	t->pos = ps->at;
	t->raw = ps->p;
	t->rawlen = 1;
	if (ps->p >= ps->end) {
		t->type = T_EOF;
		t->rawlen = 0;
		return 0;
	}
	p = ps->p;
	switch (*p) {
	case '\n': t->type = T_NL; break;
	case ';': t->type = T_SEMI; break;
	case '=': t->type = T_EQ; break;
	case '[': t->type = T_LBRACK; break;
	case ']': t->type = T_RBRACK; break;
	case ',': t->type = T_COMMA; break;
	case '+':
		if (ps->end - p >= 2 && p[1] == '=') {
			t->type = T_PLUSEQ;
			t->rawlen = 2;
		} else {
			t->type = T_OTHER;
		}
		break;
	case '"':
	case '\'':
		r = lex_string(ps, t);
		if (r)
			return r;
		break;
	default:
		if (*p >= '0' && *p <= '9') {
			r = lex_number(ps, t);
			if (r)
				return r;
		} else if (is_key_start(*p)) {
			const char *e = p;

			while (e < ps->end && is_key_char(*e))
				e++;
			t->type = T_KEY;
			t->rawlen = (size_t)(e - p);
		} else {
			t->type = T_OTHER;
		}
		break;
	}
	advance(ps, t->rawlen);
	return 0;
}

/* The next token that is not a newline. */
static int lex_nl(struct parser *ps, struct tok *t)
{
	int r;

	do {
		r = lex(ps, t);
	} while (!r && t->type == T_NL);
	return r;
}

/* ---- parser --------------------------------------------------------------------- */

static struct xlcfg_value *value_new(struct parser *ps, enum xlcfg_type type,
				     struct xlcfg_pos pos)
{
	struct xlcfg_value *v = arena_alloc(ps->cfg, sizeof(*v));

	if (v) {
		v->type = type;
		v->pos = pos;
	}
	return v;
}

/* Append @item to @list, growing its array geometrically inside the arena. */
static int list_append(struct parser *ps, struct xlcfg_value *list, struct xlcfg_value *item)
{
	unsigned int n = list->nr_items;

	/* Capacity is the next power of two >= n (0 for an empty list). */
	if (n == 0 || (n & (n - 1)) == 0) {
		unsigned int cap = n ? n * 2 : 1;
		struct xlcfg_value **a;

		if (cap > (1u << 24))
			return perr(ps, item->pos, "expected at most %u values in a list, found more",
				    1u << 24);
		a = arena_alloc(ps->cfg, cap * sizeof(*a));
		if (!a)
			return nomem(ps);
		if (n)
			memcpy(a, list->items, n * sizeof(*a));
		list->items = a;
	}
	list->items[list->nr_items++] = item;
	return 0;
}

static int parse_value(struct parser *ps, const struct tok *first, unsigned int depth,
		       struct xlcfg_value **out);

static int parse_list(struct parser *ps, const struct tok *open, unsigned int depth,
		      struct xlcfg_value **out)
{
	struct xlcfg_value *list, *item;
	struct tok t;
	int r;

	if (depth >= XLCFG_MAX_DEPTH)
		return perr(ps, open->pos, "expected lists nested at most %u deep, found another '['",
			    XLCFG_MAX_DEPTH);
	list = value_new(ps, XLCFG_LIST, open->pos);
	if (!list)
		return nomem(ps);
	for (;;) {
		r = lex_nl(ps, &t);
		if (r)
			return r;
		if (t.type == T_RBRACK)
			break;
		if (t.type != T_STRING && t.type != T_NUMBER && t.type != T_LBRACK)
			return unexpected(ps, &t, "a value or ']'");
		r = parse_value(ps, &t, depth + 1, &item);
		if (r)
			return r;
		r = list_append(ps, list, item);
		if (r)
			return r;
		r = lex_nl(ps, &t);
		if (r)
			return r;
		if (t.type == T_RBRACK)
			break;
		if (t.type != T_COMMA)
			return unexpected(ps, &t, "',' or ']'");
	}
	*out = list;
	return 0;
}

static int parse_value(struct parser *ps, const struct tok *first, unsigned int depth,
		       struct xlcfg_value **out)
{
	struct xlcfg_value *v;

	switch (first->type) {
	case T_STRING:
	case T_NUMBER:
		v = value_new(ps, first->type == T_STRING ? XLCFG_STRING : XLCFG_NUMBER,
			      first->pos);
		if (!v)
			return nomem(ps);
		v->str = first->str;
		v->len = first->len;
		v->num = first->num;
		v->verbatim = first->type == T_STRING && first->verbatim;
		*out = v;
		return 0;
	case T_LBRACK:
		return parse_list(ps, first, depth, out);
	default:
		return unexpected(ps, first, "a value (a string, a number or a list)");
	}
}

static const struct xlcfg_setting *find_key(const struct xlcfg *cfg, const char *key,
					    size_t keylen)
{
	for (unsigned int i = cfg->nr_settings; i-- > 0;) {
		const struct xlcfg_setting *s = &cfg->settings[i];

		if (strlen(s->key) == keylen && !memcmp(s->key, key, keylen))
			return s;
	}
	return NULL;
}

/* "key += value": the joined value, or @v itself when @key was not set before. */
static int apply_append(struct parser *ps, const struct xlcfg_setting *prev,
			struct xlcfg_value *v, struct xlcfg_value **out)
{
	struct xlcfg_value *joined;
	char found[SHOW_MAX * 4 + 32];
	int r;

	if (v->type == XLCFG_NUMBER) {
		xlcfg_describe(v, found, sizeof(found));
		return perr(ps, v->pos, "expected a string or a list after '+=', found %s", found);
	}
	if (!prev) {
		*out = v;
		return 0;
	}
	if (prev->value->type != v->type) {
		xlcfg_describe(v, found, sizeof(found));
		return perr(ps, v->pos, "expected a %s to add to \"%s\" (set at %u:%u), found %s",
			    xlcfg_type_name(prev->value->type), prev->key, prev->value->pos.line,
			    prev->value->pos.col, found);
	}
	joined = value_new(ps, v->type, v->pos);
	if (!joined)
		return nomem(ps);
	if (v->type == XLCFG_STRING) {
		char *s;

		if (prev->value->len + v->len > XLCFG_MAX_TEXT)
			return perr(ps, v->pos, "expected a string of at most %u bytes, found more",
				    XLCFG_MAX_TEXT);
		s = arena_alloc(ps->cfg, prev->value->len + v->len + 1);
		if (!s)
			return nomem(ps);
		memcpy(s, prev->value->str, prev->value->len);
		memcpy(s + prev->value->len, v->str, v->len);
		s[prev->value->len + v->len] = '\0';
		joined->str = s;
		joined->len = prev->value->len + v->len;
	} else {
		for (unsigned int i = 0; i < prev->value->nr_items; i++) {
			r = list_append(ps, joined, prev->value->items[i]);
			if (r)
				return r;
		}
		for (unsigned int i = 0; i < v->nr_items; i++) {
			r = list_append(ps, joined, v->items[i]);
			if (r)
				return r;
		}
	}
	*out = joined;
	return 0;
}

static int add_setting(struct parser *ps, const struct tok *key, bool append,
		       struct xlcfg_value *v)
{
	struct xlcfg *cfg = ps->cfg;
	unsigned int n = cfg->nr_settings;
	struct xlcfg_setting *s;
	int r;

	if (n == XLCFG_MAX_SETTINGS)
		return perr(ps, key->pos, "expected at most %u settings, found more",
			    XLCFG_MAX_SETTINGS);
	if (append) {
		r = apply_append(ps, find_key(cfg, key->raw, key->rawlen), v, &v);
		if (r)
			return r;
	}
	if (n == 0 || (n & (n - 1)) == 0) {
		struct xlcfg_setting *a = arena_alloc(cfg, (n ? n * 2 : 1) * sizeof(*a));

		if (!a)
			return nomem(ps);
		if (n)
			memcpy(a, cfg->settings, n * sizeof(*a));
		cfg->settings = a;
	}
	s = &cfg->settings[n];
	s->key = arena_strndup(cfg, key->raw, key->rawlen);
	if (!s->key)
		return nomem(ps);
	s->pos = key->pos;
	s->value = v;
	s->append = append;
	cfg->nr_settings = n + 1;
	return 0;
}

static int parse_file(struct parser *ps)
{
	struct xlcfg_value *v;
	struct tok t, key;
	bool append;
	int r;

	for (;;) {
		r = lex(ps, &t);
		if (r)
			return r;
		if (t.type == T_EOF)
			return 0;
		if (t.type == T_NL || t.type == T_SEMI)
			continue;
		if (t.type != T_KEY)
			return unexpected(ps, &t, "a setting name");
		if (t.rawlen > XLCFG_MAX_KEY)
			return perr(ps, t.pos, "expected a setting name of at most %u characters, found %zu",
				    XLCFG_MAX_KEY, t.rawlen);
		key = t;
		r = lex(ps, &t);
		if (r)
			return r;
		if (t.type != T_EQ && t.type != T_PLUSEQ)
			return unexpected(ps, &t, "'=' or '+='");
		append = t.type == T_PLUSEQ;
		r = lex(ps, &t);
		if (r)
			return r;
		r = parse_value(ps, &t, 0, &v);
		if (r)
			return r;
		r = lex(ps, &t);
		if (r)
			return r;
		if (t.type != T_NL && t.type != T_SEMI && t.type != T_EOF)
			return unexpected(ps, &t, "end of line or ';'");
		r = add_setting(ps, &key, append, v);
		if (r)
			return r;
		if (t.type == T_EOF)
			return 0;
	}
}

int xlcfg_parse(const char *text, size_t len, const char *fname, struct xlcfg **out,
		char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen };
	struct xlcfg *cfg;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -VC_ENOMEM;
	cfg->fname = arena_strndup(cfg, fname ? fname : "<input>",
				   strlen(fname ? fname : "<input>"));
	if (!cfg->fname) {
		xlcfg_free(cfg);
		return -VC_ENOMEM;
	}
	ps.cfg = cfg;
	ps.at = (struct xlcfg_pos){ 1, 1 };
	if (len > XLCFG_MAX_TEXT) {
		xlcfg_errorf(cfg->fname, ps.at, err, errlen,
			     "expected at most %u bytes, found %zu", XLCFG_MAX_TEXT, len);
		xlcfg_free(cfg);
		return -VC_E2BIG;
	}
	/* A NUL byte is a character no token starts with (nor a string holds). */
	ps.p = text;
	ps.end = text + len;
	r = parse_file(&ps);
	if (r) {
		xlcfg_free(cfg);
		return ps.nomem ? -VC_ENOMEM : r;
	}
	cfg->end = ps.at;
	*out = cfg;
	return 0;
}

const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg, const char *key)
{
	return find_key(cfg, key, strlen(key));
}
