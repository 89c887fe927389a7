/* SPDX-License-Identifier: MIT */
/*
 * DOC: intrusive binary min-heap
 *
 * The one priority queue of the project: the run and release queues of the
 * schedulers (sched/credit.c, sched/rtds.c) and the timer queues of the OS
 * layers (os/posix.c, os/vtime.c).  The element embeds a struct
 * vc_heap_node; the heap holds an array of pointers to nodes, so every
 * operation is O(log n) and a queued node knows its own position.
 *
 * Ordering: by @key, then by @tie (lowest first), so that equal keys come
 * out in a deterministic order.  A heap made with vc_heap_init() compares
 * keys modulo 2^64 (virtual times that may wrap: the keys queued together
 * must lie within 2^63 of each other); one made with vc_heap_init_abs()
 * compares them as plain unsigned numbers (absolute deadlines, where
 * VC_TIME_INF must sort last).
 *
 * Memory: vc_heap_reserve() is the only call that allocates; push never
 * does, so it can run under any lock once room was reserved.
 *
 * Locking: none.  The owner serializes every call on a heap (the coproc
 * lock for the schedulers, the timer lock of os/posix.c).
 */
#ifndef VCOPROC_HEAP_H
#define VCOPROC_HEAP_H

#include "os.h"

/**
 * Embedded in the element.  The owner sets @key (and @tie) and calls
 * vc_heap_fix() after changing the key of a queued node.  A zeroed node is
 * not queued.
 */
struct vc_heap_node {
	uint64_t key;
	uint64_t tie;
	unsigned int pos; /* 1 + index in the heap array, 0 when not queued */
};

struct vc_heap {
	struct vc_heap_node **a; /* a[0] is the minimum; owned by the heap */
	unsigned int nr;
	unsigned int cap;
	bool absolute;           /* keys compared as unsigned, not modulo 2^64 */
};

/**
 * vc_key_before() - @a < @b for counters that may wrap (virtual times):
 * correct while they are less than 2^63 apart.
 */
static inline bool vc_key_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

/** vc_heap_before() - @a comes out of @h before @b. */
static inline bool vc_heap_before(const struct vc_heap *h, const struct vc_heap_node *a,
				  const struct vc_heap_node *b)
{
	if (a->key != b->key)
		return h->absolute ? a->key < b->key : vc_key_before(a->key, b->key);
	return a->tie < b->tie;
}

/** vc_heap_init() - an empty heap whose keys wrap (compared modulo 2^64). */
static inline void vc_heap_init(struct vc_heap *h)
{
	h->a = NULL;
	h->nr = h->cap = 0;
	h->absolute = false;
}

/** vc_heap_init_abs() - an empty heap whose keys are compared as unsigned. */
static inline void vc_heap_init_abs(struct vc_heap *h)
{
	vc_heap_init(h);
	h->absolute = true;
}

/**
 * vc_heap_reserve() - make room for @cap elements so that push never
 * allocates (call it when an element is admitted, not on the hot path).
 * Returns 0 or -VC_ENOMEM (the heap is unchanged).
 */
int vc_heap_reserve(struct vc_heap *h, unsigned int cap);

/** vc_heap_fini() - free the array; the nodes still queued are forgotten. */
void vc_heap_fini(struct vc_heap *h);

/**
 * vc_heap_push() - insert @n.  O(log n).  Returns 0, -VC_EBUSY when @n is
 * already queued, -VC_ENOSPC when no room was reserved (both are bugs of
 * the caller; the heap is unchanged).
 */
int vc_heap_push(struct vc_heap *h, struct vc_heap_node *n);

/** vc_heap_del() - remove @n; a node that is not queued is left alone.  O(log n). */
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
	if (h->nr == 2 || vc_heap_before(h, h->a[1], h->a[2]))
		return h->a[1];
	return h->a[2];
}

#endif /* VCOPROC_HEAP_H */
