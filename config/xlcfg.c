// SPDX-License-Identifier: MIT
/*
 * DOC: xl.cfg reader - lexer and recursive-descent parser
 *
 * The grammar is Xen's libxlu_cfg_y.y:
 *
 *   file     := { stmt }
 *   stmt     := [ KEY ( '=' | '+=' ) value ] ( NEWLINE | ';' | EOF )
 *   value    := STRING | NUMBER | '[' nl [ items ] ']'
 *   items    := value nl { ',' nl value nl } [ ',' nl ]
 *   nl       := { NEWLINE }
 *
 * and the tokens those of libxlu_cfg_l.l:
 *
 *   KEY      [a-z][._0-9a-z]*
 *   NUMBER   [0-9][0-9a-fx]*          (text; read as a number on demand)
 *   STRING   '([^'\\\n]|\\.)*'  "([^"\\\n]|\\.)*"
 *   NEWLINE  \n  or  #.*\n
 *   blank    [ \t]
 *
 * The text is checked for NUL bytes and UTF-8 first.  The lexer turns it
 * into tokens one at a time; the parser asks for the next one when it
 * needs it and reports the first token it cannot use as "expected X, found
 * Y" at that token's position.  Lists are parsed with an explicit stack,
 * not recursion.  Every node and string lives in an arena that
 * xlcfg_free() drops in one go, so an error anywhere needs no unwinding of
 * half-built values.
 */
#include <errno.h>
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
	char *str;            /* T_STRING: unescaped (arena); T_NUMBER: raw copy */
	size_t len;
	bool verbatim;
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
	return c >= 'a' && c <= 'z';
}

static bool is_key_char(int c)
{
	return is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

static bool is_number_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == 'x';
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
		if (c == '\r')
			snprintf(buf, len, "a carriage return (xl takes \"\\n\" line ends only)");
		else if (c > 0x20 && c < 0x7f && c != '\'')
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
	char found[SHOW_MAX * 4 + 64];

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

/* The position of @q, which lies at or after ps->p on the same line. */
static struct xlcfg_pos pos_at(const struct parser *ps, const char *q)
{
	struct xlcfg_pos pos = ps->at;

	pos.col += (unsigned int)(q - ps->p);
	return pos;
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

/*
 * The length of the UTF-8 sequence at @s (at most @n bytes): 1 to 4, or 0
 * when it is not one (overlong forms, surrogates and code points past
 * U+10FFFF are not UTF-8 either).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Before any token: the text must be UTF-8 without NUL bytes.  xl takes
 * any byte in a comment or a string, but vcoproc sends the file to its
 * daemon as a JSON string, which holds neither.
 */
static int check_text(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t n = (size_t)(ps->end - ps->p), i = 0, l;

	while (i < n) {
		if (s[i] == '\0') {
			advance(ps, i);
			return perr(ps, ps->at, "expected text, found byte 0x00: NUL bytes are not "
				    "supported (xl skips them in comments; vcoproc sends the file "
				    "to its daemon as JSON text, which cannot hold them)");
		}
		l = utf8_len(s + i, n - i);
		if (!l) {
			advance(ps, i);
			return perr(ps, ps->at, "expected UTF-8 text, found byte 0x%02x: bytes that are "
				    "not UTF-8 are not supported (xl takes them in comments and "
				    "strings; vcoproc sends the file to its daemon as JSON text, which "
				    "must be UTF-8)", s[i]);
		}
		i += l;
	}
	return 0;
}

/*
 * Apply the escape at *@pp (just past the backslash at @bs_pos) to @out;
 * advance *@pp.  xl's escapes, less the ones it gets wrong: it refuses
 * every \xHH, and an octal escape makes it drop the character.
 */
static int unescape_one(struct parser *ps, const char **pp, const char *stop, char *out,
			struct xlcfg_pos bs_pos)
{
	const char *p = *pp;
	int c = p < stop ? (unsigned char)*p : -1;

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
		return perr(ps, bs_pos, "expected an escape sequence xl reads (\\n, \\t, \\\", \\\\, "
			    "...), found \"\\x\" (xl refuses every \\xHH escape)");
	default:
		if (c >= '0' && c <= '7')
			return perr(ps, bs_pos, "expected an escape sequence xl reads (\\n, \\t, \\\", "
				    "\\\\, ...), found \"\\%c\": octal escapes are not supported "
				    "(xl refuses some and drops the character of the others)", c);
		if (c > 0x20 && c < 0x7f)
			return perr(ps, bs_pos,
				    "expected an escape sequence (\\n, \\t, \\\", \\\\, ...), found \"\\%c\"",
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

	while (e < ps->end && *e != q && *e != '\n') {
		if (*e == '\\') {
			if (e + 1 >= ps->end || e[1] == '\n')
				return perr(ps, pos_at(ps, e), "expected an escape sequence, found %s "
					    "(a string ends on its line)",
					    e + 1 >= ps->end ? "end of file" : "end of line");
			e++;
		}
		e++;
	}
	if (e >= ps->end || *e != q)
		return perr(ps, pos_at(ps, e), "expected a closing %s, found %s",
			    q == '"' ? "'\"'" : "\"'\"",
			    e >= ps->end ? "end of file" : "end of line");
	out = arena_alloc(ps->cfg, (size_t)(e - s) + 1);
	if (!out)
		return nomem(ps);
	t->verbatim = true;
	for (const char *p = s; p < e;) {
		if (*p == '\\') {
			struct xlcfg_pos bs = pos_at(ps, p);

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

/* The next token into @t; 0 or an error (message written). */
static int lex(struct parser *ps, struct tok *t)
{
	const char *p, *e;
	int r;

	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		advance(ps, 1);
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
	if (ps->end - p == 1 && !strchr("\n,[]=;", *p) && !is_key_start(*p) &&
	    !(*p >= '0' && *p <= '9')) {
		char found[SHOW_MAX + 64];

		t->type = T_OTHER;
		tok_describe(t, found, sizeof(found));
		return perr(ps, t->pos, "expected a token or end of file, found %s as the last "
			    "byte: a stray last byte is not supported (xl 4.17 ignores one, a flaw "
			    "of its lexer)", found);
	}
	switch (*p) {
	case '#':
		/* A comment is a newline, so it needs one. */
		e = memchr(p, '\n', (size_t)(ps->end - p));
		if (!e)
			return perr(ps, pos_at(ps, ps->end), "expected a newline at the end of the "
				    "comment, found end of file (xl needs one)");
		t->type = T_NL;
		t->rawlen = (size_t)(e + 1 - p);
		break;
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
			for (e = p + 1; e < ps->end && is_number_char(*e); e++)
				;
			t->type = T_NUMBER;
			t->rawlen = (size_t)(e - p);
			t->str = arena_strndup(ps->cfg, p, t->rawlen);
			if (!t->str)
				return nomem(ps);
			t->len = t->rawlen;
		} else if (is_key_start(*p)) {
			for (e = p + 1; e < ps->end && is_key_char(*e); e++)
				;
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

/* ---- numbers ----------------------------------------------------------------- */

int xlcfg_value_long(const struct xlcfg_value *v, long *out)
{
	char *ep;
	long l;

	if (v->type == XLCFG_LIST)
		return -VC_EINVAL;
	errno = 0;
	l = strtol(v->str, &ep, 0);
	if (errno == ERANGE)
		return -VC_ERANGE;
	if (errno || *ep || ep == v->str)
		return -VC_EINVAL;
	*out = l;
	return 0;
}

int xlcfg_long(const struct xlcfg_setting *s, long *out)
{
	return s->append ? -VC_EINVAL : xlcfg_value_long(s->value, out);
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

/*
 * A value whose first token is @t: an atom, or a list parsed with a stack
 * of the lists still open (no recursion, whatever the input).
 */
static int parse_value(struct parser *ps, struct tok *t, struct xlcfg_value **out)
{
	struct xlcfg_value **open = NULL, *v;
	unsigned int depth = 0;
	int r;

	for (;;) {
		/* @t begins a value. */
		if (t->type == T_LBRACK) {
			if (depth == XLCFG_MAX_DEPTH)
				return perr(ps, t->pos, "expected lists nested at most %u deep, found "
					    "another '[': deeper lists are not supported (xl takes "
					    "them until its parser's stack runs out, near 4000; "
					    "vcoproc bounds untrusted input)", XLCFG_MAX_DEPTH);
			if (!open) {
				open = arena_alloc(ps->cfg, XLCFG_MAX_DEPTH * sizeof(*open));
				if (!open)
					return nomem(ps);
			}
			v = value_new(ps, XLCFG_LIST, t->pos);
			if (!v)
				return nomem(ps);
			open[depth++] = v;
			r = lex_nl(ps, t);
			if (r)
				return r;
			if (t->type != T_RBRACK)
				continue;
			depth--;
		} else if (t->type == T_STRING || t->type == T_NUMBER) {
			v = value_new(ps, t->type == T_STRING ? XLCFG_STRING : XLCFG_NUMBER, t->pos);
			if (!v)
				return nomem(ps);
			v->str = t->str;
			v->len = t->len;
			v->verbatim = t->type == T_STRING && t->verbatim;
		} else {
			return unexpected(ps, t, depth ? "a value or ']'" :
					  "a value (a string, a number or a list)");
		}
		/* @v is complete: it is the result, or an item of the list open last. */
		for (;;) {
			if (!depth) {
				*out = v;
				return 0;
			}
			r = list_append(ps, open[depth - 1], v);
			if (r)
				return r;
			r = lex_nl(ps, t);
			if (r)
				return r;
			if (t->type == T_COMMA) {
				r = lex_nl(ps, t);
				if (r)
					return r;
			} else if (t->type != T_RBRACK) {
				return unexpected(ps, t, "',' or ']'");
			}
			if (t->type != T_RBRACK)
				break;
			v = open[--depth];
		}
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

/*
 * "key += value": the joined value, or @v itself when @key was not set
 * before.  As in xl, numbers are text: 1 and 2 join into "12".
 */
static int apply_append(struct parser *ps, const struct xlcfg_setting *prev,
			struct xlcfg_value *v, struct xlcfg_value **out)
{
	struct xlcfg_value *joined;
	char found[SHOW_MAX * 4 + 32];
	bool prev_list, list = v->type == XLCFG_LIST;
	int r;

	if (!prev) {
		*out = v;
		return 0;
	}
	prev_list = prev->value->type == XLCFG_LIST;
	if (prev_list != list) {
		xlcfg_describe(v, found, sizeof(found));
		return perr(ps, v->pos, "expected a %s to add to \"%s\" (set at %u:%u), found %s",
			    prev_list ? "list" : "string or a number", prev->key,
			    prev->value->pos.line, prev->value->pos.col, found);
	}
	joined = value_new(ps, list ? XLCFG_LIST : XLCFG_STRING, v->pos);
	if (!joined)
		return nomem(ps);
	if (!list) {
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
		return perr(ps, key->pos, "expected at most %u settings, found more: more are not "
			    "supported (xl has no bound; vcoproc bounds untrusted input)",
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
	struct xlcfg_value *v = NULL;
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
		if (t.type == T_OTHER && ((*t.raw >= 'A' && *t.raw <= 'Z') || *t.raw == '_'))
			return perr(ps, t.pos, "expected a setting name, found '%c' (xl takes names "
				    "in [a-z][a-z0-9._]* only)", *t.raw);
		if (t.type != T_KEY)
			return unexpected(ps, &t, "a setting name");
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
		r = parse_value(ps, &t, &v);
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
			     "expected at most %u bytes, found %zu: longer files are not supported "
			     "(xl has no bound; vcoproc bounds untrusted input)", XLCFG_MAX_TEXT, len);
		xlcfg_free(cfg);
		return -VC_E2BIG;
	}
	ps.p = text;
	ps.end = text + len;
	r = check_text(&ps);
	if (!r) {
		ps.p = text;
		ps.at = (struct xlcfg_pos){ 1, 1 };
		r = parse_file(&ps);
	}
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
