/* SPDX-License-Identifier: MIT */
/*
 * DOC: xl.cfg reader - Xen's domain configuration syntax, read as xl reads it
 *
 * Reads text in the syntax of Xen's xl.cfg(5) files into a generic tree of
 * settings; what the settings mean is left to the caller (domcfg.h).  The
 * syntax is libxlutil's (xl 4.17: libxlu_cfg_l.l, libxlu_cfg_y.y), and a
 * differential test holds the two readers to the same answers
 * (tests/config/test_xlcfg_xl.c; the differences that remain are listed in
 * docs/xlcfg.md):
 *
 *   # a comment, to the end of the line (which it needs)
 *   name = "dom1"                  # strings in "..." or '...', both with
 *                                  # the escapes \" \' \\ \a \b \f \n \r \t \v
 *   memory = 64; vcpus = 0x1       # numbers: [0-9][0-9a-fx]*, kept as text;
 *   maxmem = 010                   # read by strtol() in base 0, so this is 8
 *   vcoproc = [ "gpu0",            # lists, over several lines,
 *               'gpu1,weight=512', # a trailing comma allowed,
 *               [ 1, 2 ] ]         # nested up to XLCFG_MAX_DEPTH
 *   extra = "console=hvc0"
 *   extra += " quiet"              # '+=' joins strings (numbers are text)
 *   dotted.key_2 = 1               # keys: [a-z][a-z0-9._]*
 *
 * A ';' or a newline ends a setting; the last one needs neither.  Blank
 * space is ' ' and '\t' only.  A key set twice takes its last value.
 *
 * Refused although xl reads them, each with a message that says so and
 * why: octal escapes (xl 4.17 drops the character), bytes that are not
 * UTF-8 and NUL bytes (the file travels to the daemon as JSON text),
 * lists nested deeper than XLCFG_MAX_DEPTH, more than XLCFG_MAX_SETTINGS
 * settings, and texts over XLCFG_MAX_TEXT bytes.
 *
 * Errors read "FILE:LINE:COL: expected X, found Y".  Lines and columns
 * count from 1; a column counts bytes (a tab is one).
 *
 * Untrusted input: the text is bounded (XLCFG_MAX_TEXT), nesting is bounded
 * and parsed without recursion, and any byte sequence either parses or gets
 * a message; the reader never reads past @len.
 *
 * Ownership: xlcfg_parse() returns a tree that owns all its strings and
 * values; everything is freed by xlcfg_free().  The functions keep no
 * global state and are reentrant.
 */
#ifndef VCOPROC_XLCFG_H
#define VCOPROC_XLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vcoproc/util.h>

#define XLCFG_MAX_TEXT     (1u << 20) /* bytes of input */
#define XLCFG_MAX_DEPTH    1024       /* lists within lists (xl: ~4000) */
#define XLCFG_MAX_SETTINGS 4096
#define XLCFG_ERR_MAX      320        /* a message buffer that never truncates */

/** A place in the text: line and column, both from 1. */
struct xlcfg_pos {
	unsigned int line;
	unsigned int col;
};

enum xlcfg_type {
	XLCFG_STRING,
	XLCFG_NUMBER,
	XLCFG_LIST,
};

/** A value; owned by the tree it belongs to. */
struct xlcfg_value {
	enum xlcfg_type type;
	struct xlcfg_pos pos;        /* first character (a string's quote) */
	const char *str;             /* STRING: unescaped text; NUMBER: as
				      * written (xl keeps numbers as text);
				      * LIST: NULL.  NUL-terminated */
	size_t len;                  /* strlen(str) */
	bool verbatim;               /* STRING: no escapes, not joined by
				      * '+=': str[i] sits at column
				      * pos.col + 1 + i */
	struct xlcfg_value **items;  /* LIST */
	unsigned int nr_items;
};

/** One "key = value" (or "key += value") in file order. */
struct xlcfg_setting {
	const char *key;
	struct xlcfg_pos pos;        /* of the key */
	struct xlcfg_value *value;   /* after any '+=' was applied */
	bool append;                 /* written with '+=' */
};

struct xlcfg_arena;

/** A parsed file. */
struct xlcfg {
	const char *fname;           /* as given to xlcfg_parse() */
	struct xlcfg_setting *settings;
	unsigned int nr_settings;
	struct xlcfg_pos end;        /* the end of the text */
	struct xlcfg_arena *arena;   /* private: owns everything above */
};

/**
 * xlcfg_parse() - parse @len bytes of @text (not NUL-terminated; a NUL
 * byte is an error) named @fname in messages.
 * Returns 0 and *@out (free with xlcfg_free()), -VC_EINVAL for a syntax
 * error or -VC_E2BIG for input over XLCFG_MAX_TEXT (both with the message
 * in @err), or -VC_ENOMEM.
 */
VC_MUST_CHECK int xlcfg_parse(const char *text, size_t len, const char *fname,
			      struct xlcfg **out, char *err, size_t errlen);

/** xlcfg_free() - free @cfg and everything in it.  NULL is ignored. */
void xlcfg_free(struct xlcfg *cfg);

/**
 * xlcfg_find() - the setting of @key that counts (the last one), or NULL.
 * Keys compare exactly.
 */
const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg, const char *key);

/**
 * xlcfg_value_long() - @v read as a number the way xl reads one
 * (xlu_cfg_get_long()): the whole text of a string or a number, by
 * strtol() in base 0 - so 010 is 8, 0x10 is 16, "-5" is -5, 08 and "5 "
 * are not numbers.
 * Returns 0 and *@out; -VC_EINVAL for a list or text that is not one whole
 * number; -VC_ERANGE for a number outside long.
 */
int xlcfg_value_long(const struct xlcfg_value *v, long *out);

/**
 * xlcfg_long() - setting @s read as a number the way xl reads one: as
 * xlcfg_value_long(), and -VC_EINVAL for a setting written with '+='
 * (xl reads no number from those).
 */
int xlcfg_long(const struct xlcfg_setting *s, long *out);

/** xlcfg_type_name() - "string", "number" or "list". */
const char *xlcfg_type_name(enum xlcfg_type t);

/**
 * xlcfg_describe() - @v as a message shows it after "found": 'string
 * "abc"' (escaped, long ones cut short with "..."), 'number 0x10',
 * 'list of 3'.  Writes at most @len bytes, NUL included.
 */
void xlcfg_describe(const struct xlcfg_value *v, char *buf, size_t len);

/**
 * xlcfg_errorf() - write "FNAME:LINE:COL: " and the formatted message to
 * @err (@errlen bytes, cut short if need be).  Returns -VC_EINVAL, so that
 * callers can "return xlcfg_errorf(...)".
 */
int xlcfg_errorf(const char *fname, struct xlcfg_pos pos, char *err, size_t errlen,
		 const char *fmt, ...) VC_PRINTF(5, 6);

#endif /* VCOPROC_XLCFG_H */
