/* SPDX-License-Identifier: MIT */
/*
 * DOC: helpers shared by the algorithms in sched/
 *
 * Private to sched/: an intrusive binary min-heap (the run queues of credit
 * and rtds, the release queue of rtds) and the parsing and printing of
 * parameter values.  Like the algorithms, it is part of the embeddable core:
 * no libc, no locks, no allocation except in vc_heap_reserve().
 */
#ifndef VCOPROC_SCHED_COMMON_H
#define VCOPROC_SCHED_COMMON_H

#include <vcoproc/sched.h>

/* ---- intrusive binary min-heap ------------------------------------------- */

/**
 * Embedded in the element.  The owner sets @key (and @tie once) and calls
 * vc_heap_fix() after changing the key of a queued node.  Keys are compared
 * modulo 2^64 (virtual times may wrap), so the keys queued together must
 * lie within 2^63 of each other; equal keys go by @tie, lowest first.
 * A zeroed node is not queued.
 */
struct vc_heap_node {
	uint64_t key;
	uint32_t tie;
	unsigned int pos; /* 1 + index in the heap array, 0 when not queued */
};

struct vc_heap {
	struct vc_heap_node **a; /* a[0] is the minimum */
	unsigned int nr;
	unsigned int cap;
};

/**
 * vc_sched_before() - @a < @b for counters that may wrap (virtual times):
 * correct while they are less than 2^63 apart.
 */
static inline bool vc_sched_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

/** vc_heap_before() - @a comes out of the heap before @b. */
static inline bool vc_heap_before(const struct vc_heap_node *a,
				  const struct vc_heap_node *b)
{
	if (a->key != b->key)
		return vc_sched_before(a->key, b->key);
	return a->tie < b->tie;
}

static inline void vc_heap_init(struct vc_heap *h)
{
	h->a = NULL;
	h->nr = h->cap = 0;
}

/**
 * vc_heap_reserve() - make room for @cap elements so that push never
 * allocates (call it when an element is admitted, not on the hot path).
 * Returns 0 or -VC_ENOMEM (the heap is unchanged).
 */
int vc_heap_reserve(struct vc_heap *h, unsigned int cap);

/** vc_heap_fini() - free the array; the heap must be empty. */
void vc_heap_fini(struct vc_heap *h);

/** vc_heap_push() - insert @n (not queued; room reserved).  O(log n). */
void vc_heap_push(struct vc_heap *h, struct vc_heap_node *n);

/** vc_heap_del() - remove queued @n.  O(log n). */
void vc_heap_del(struct vc_heap *h, struct vc_heap_node *n);

/** vc_heap_fix() - restore the order after queued @n's key changed.  O(log n). */
void vc_heap_fix(struct vc_heap *h, struct vc_heap_node *n);

static inline bool vc_heap_queued(const struct vc_heap_node *n)
{
	return n->pos != 0;
}

/** vc_heap_top() - the minimum, or NULL when empty.  O(1). */
static inline struct vc_heap_node *vc_heap_top(const struct vc_heap *h)
{
	return h->nr ? h->a[0] : NULL;
}

/**
 * vc_heap_second() - the smallest element other than the top, or NULL.
 * O(1): it is one of the top's two children.
 */
static inline struct vc_heap_node *vc_heap_second(const struct vc_heap *h)
{
	if (h->nr < 2)
		return NULL;
	if (h->nr == 2 || vc_heap_before(h->a[1], h->a[2]))
		return h->a[1];
	return h->a[2];
}

/* ---- parameter values ------------------------------------------------------ */

/**
 * vc_sched_parse_time() - parse duration @val (bare numbers in
 * @default_unit ns) and check it lies in [@min, @max].
 * Returns 0, or -VC_EINVAL for a bad or out-of-range value.
 */
int vc_sched_parse_time(const char *val, vc_time_t default_unit, vc_time_t min,
			vc_time_t max, vc_time_t *out);

/** vc_sched_parse_uint() - as vc_sched_parse_time() for a plain integer. */
int vc_sched_parse_uint(const char *val, uint64_t min, uint64_t max, uint64_t *out);

/** vc_sched_parse_bool() - "1"/"on"/"yes"/"true" or "0"/"off"/"no"/"false". */
int vc_sched_parse_bool(const char *val, bool *out);

/** Room for any duration vc_sched_fmt_time() writes. */
#define VC_SCHED_TIME_STR 24

/**
 * vc_sched_fmt_time() - @t in the largest unit that shows it exactly
 * ("10ms", "2500us", "0ns"), so that vc_parse_time() reads it back as is.
 * Returns @buf.
 */
const char *vc_sched_fmt_time(char buf[VC_SCHED_TIME_STR], vc_time_t t);

#endif /* VCOPROC_SCHED_COMMON_H */
