/* SPDX-License-Identifier: MIT */
/*
 * DOC: core utilities
 *
 * What the core would otherwise take from libc: string helpers, number
 * and duration parsing, a small printf, a string buffer, UTF-8 checking and
 * JSON string escaping, intrusive lists, and formatted logging over
 * vc_os_log().  The simulator, the control socket and the CLI use these
 * too, so each exists once.  All are reentrant and take no locks.
 */
#ifndef VCOPROC_UTIL_H
#define VCOPROC_UTIL_H

#include "os.h"

#define VC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define vc_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#if defined(__GNUC__)
#define VC_MUST_CHECK __attribute__((warn_unused_result))
#define VC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VC_MUST_CHECK
#define VC_PRINTF(f, a)
#endif

/* ---- strings -------------------------------------------------------- */

size_t vc_strlen(const char *s);
int vc_strcmp(const char *a, const char *b);
int vc_strncmp(const char *a, const char *b, size_t n);
/** Copy at most @size-1 bytes and NUL-terminate; returns vc_strlen(@src). */
size_t vc_strlcpy(char *dst, const char *src, size_t size);

/**
 * vc_parse_u64() - parse a decimal (or 0x hex) unsigned integer that makes
 * up the whole of @s.  Returns 0, -VC_EINVAL if @s is not a number,
 * -VC_ERANGE on overflow.
 */
int vc_parse_u64(const char *s, uint64_t *out);

/**
 * vc_parse_duration() - parse a duration that makes up the whole of @s: a
 * decimal number ("10", "2.5", ".5") with an optional unit ns, us, ms or
 * s; a bare number is in @default_unit ns (e.g. VC_MSEC(1): "10" is 10 ms).
 * Decimals are exact to the ns; finer digits are dropped (rounded down).
 * No sign, no blanks, no exponent.  The one duration syntax of the
 * project: scheduling parameters, scenario files, command lines.
 * Returns 0 and *@out in ns, -VC_EINVAL (not a duration; *@out is left
 * alone) or -VC_ERANGE (more than 2^64-1 ns).
 */
int vc_parse_duration(const char *s, vc_time_t default_unit, vc_time_t *out);

/* ---- formatting ----------------------------------------------------- */

/**
 * vc_vformat() - the formatter: C99 subset %d %i %u %x %X %s %c %p %%,
 * length modifiers h hh l ll z, flags '-' '0' '#', field width and
 * precision ('.N' on strings, '*' for both).  Hands each character to
 * @put(@opaque, c); returns how many there were.
 */
int vc_vformat(void (*put)(void *opaque, char c), void *opaque, const char *fmt,
	       va_list ap);

/**
 * vc_vsnprintf() - vc_vformat() into @buf.  Always NUL-terminates when
 * @size > 0.  Returns the length the full output would have had.
 */
int vc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int vc_snprintf(char *buf, size_t size, const char *fmt, ...) VC_PRINTF(3, 4);

/** vc_log() - format one line (at most 255 bytes kept) and pass it to vc_os_log(). */
void vc_log(enum vc_log_level level, const char *fmt, ...) VC_PRINTF(2, 3);

/**
 * A sink for text output (dumps, traces).  @write returns 0 or -errno;
 * the first error stops the producer, which returns it.
 */
struct vc_printer {
	int (*write)(void *opaque, const char *buf, size_t len);
	void *opaque;
	int err; /* first error seen, sticky */
};

/** vc_pr() - format into @p; errors are kept in p->err.  Returns p->err. */
int vc_pr(struct vc_printer *p, const char *fmt, ...) VC_PRINTF(2, 3);

/**
 * A growable string buffer and a printer that appends to it: lets code
 * render text under a lock and hand it to a slow printer after dropping it,
 * or collect text to reply with.  Start from { 0 } (or { .max = N }).  The
 * buffer (NUL-terminated; NULL while nothing was written) is owned by the
 * struct: vc_strbuf_free(), or take @buf and free it with vc_os_free().
 */
struct vc_strbuf {
	char *buf;
	size_t len, cap;
	size_t max; /* most bytes it takes (0: no limit); past it writes fail -VC_E2BIG */
};

/** vc_strbuf_printer() - a printer appending to @b. */
struct vc_printer vc_strbuf_printer(struct vc_strbuf *b);
void vc_strbuf_free(struct vc_strbuf *b);

/**
 * vc_utf8_seq() - the length (1 to 4) of the well-formed UTF-8 character
 * at the start of @s, of which at most @n bytes may be read; 0 when none
 * starts there: a stray continuation byte, 0xc0, 0xc1 or 0xf5..0xff, an
 * overlong form, a surrogate, a code point past U+10FFFF, or a sequence cut
 * short (by @n or a NUL).  A NUL byte is a character of length 1.
 */
size_t vc_utf8_seq(const char *s, size_t n);

/**
 * vc_pr_json_str() - write the NUL-terminated @s as the inside of a JSON
 * string: the one JSON string escaper of the project.  Valid UTF-8 is kept
 * as it is; only '"', '\\' (as \" and \\) and control characters below
 * 0x20 (as \u00XX) are escaped; each byte that is not part of valid UTF-8
 * (vc_utf8_seq()) becomes \ufffd, U+FFFD REPLACEMENT CHARACTER, so the
 * output is always valid JSON.  Returns p->err.
 */
int vc_pr_json_str(struct vc_printer *p, const char *s);

/* ---- intrusive doubly linked list ------------------------------------ */

struct vc_list {
	struct vc_list *next, *prev;
};

#define VC_LIST_INIT(name) { &(name), &(name) }

static inline void vc_list_init(struct vc_list *l)
{
	l->next = l->prev = l;
}

static inline bool vc_list_empty(const struct vc_list *l)
{
	return l->next == l;
}

static inline void vc_list__insert(struct vc_list *n, struct vc_list *prev,
				   struct vc_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/** Insert @n after @head (at the front). */
static inline void vc_list_add(struct vc_list *n, struct vc_list *head)
{
	vc_list__insert(n, head, head->next);
}

/** Insert @n before @head (at the back). */
static inline void vc_list_add_tail(struct vc_list *n, struct vc_list *head)
{
	vc_list__insert(n, head->prev, head);
}

/** Unlink @n and make it an empty list (safe to delete twice). */
static inline void vc_list_del(struct vc_list *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	vc_list_init(n);
}

#define vc_list_entry(ptr, type, member) vc_container_of(ptr, type, member)

#define vc_list_first_entry(head, type, member) \
	vc_list_entry((head)->next, type, member)

#define vc_list_for_each_entry(pos, head, type, member)                       \
	for (pos = vc_list_entry((head)->next, type, member);                 \
	     &pos->member != (head);                                          \
	     pos = vc_list_entry(pos->member.next, type, member))

#define vc_list_for_each_entry_safe(pos, n, head, type, member)               \
	for (pos = vc_list_entry((head)->next, type, member),                 \
	     n = vc_list_entry(pos->member.next, type, member);               \
	     &pos->member != (head);                                          \
	     pos = n, n = vc_list_entry(n->member.next, type, member))

#endif /* VCOPROC_UTIL_H */
