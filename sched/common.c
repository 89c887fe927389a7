// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the scheduling algorithms: the intrusive min-heap and
 * parameter parsing/printing (see common.h).  All callers hold the coproc
 * lock; nothing here takes a lock.
 */
#include <vcoproc/errno.h>

#include "common.h"

/* ---- heap ------------------------------------------------------------------- */

static void heap_set(struct vc_heap *h, unsigned int i, struct vc_heap_node *n)
{
	h->a[i] = n;
	n->pos = i + 1;
}

/* Move the element at @i towards the root while it beats its parent. */
static void sift_up(struct vc_heap *h, unsigned int i)
{
	struct vc_heap_node *n = h->a[i];

	while (i) {
		unsigned int parent = (i - 1) / 2;

		if (!vc_heap_before(n, h->a[parent]))
			break;
		heap_set(h, i, h->a[parent]);
		i = parent;
	}
	heap_set(h, i, n);
}

/* Move the element at @i towards the leaves while a child beats it. */
static void sift_down(struct vc_heap *h, unsigned int i)
{
	struct vc_heap_node *n = h->a[i];

	for (;;) {
		unsigned int child = 2 * i + 1;

		if (child >= h->nr)
			break;
		if (child + 1 < h->nr && vc_heap_before(h->a[child + 1], h->a[child]))
			child++;
		if (!vc_heap_before(h->a[child], n))
			break;
		heap_set(h, i, h->a[child]);
		i = child;
	}
	heap_set(h, i, n);
}

int vc_heap_reserve(struct vc_heap *h, unsigned int cap)
{
	struct vc_heap_node **a;
	unsigned int newcap;

	if (cap <= h->cap)
		return 0;
	newcap = h->cap ? h->cap : 8;
	while (newcap < cap)
		newcap *= 2;
	a = vc_os_zalloc(sizeof(*a) * newcap);
	if (!a)
		return -VC_ENOMEM;
	for (unsigned int i = 0; i < h->nr; i++)
		a[i] = h->a[i];
	vc_os_free(h->a);
	h->a = a;
	h->cap = newcap;
	return 0;
}

void vc_heap_fini(struct vc_heap *h)
{
	vc_os_free(h->a);
	h->a = NULL;
	h->nr = h->cap = 0;
}

void vc_heap_push(struct vc_heap *h, struct vc_heap_node *n)
{
	if (n->pos || h->nr == h->cap)
		return; /* already queued, or the caller did not reserve: a bug */
	heap_set(h, h->nr++, n);
	sift_up(h, h->nr - 1);
}

void vc_heap_del(struct vc_heap *h, struct vc_heap_node *n)
{
	struct vc_heap_node *last;
	unsigned int i;

	if (!n->pos)
		return;
	i = n->pos - 1;
	n->pos = 0;
	last = h->a[--h->nr];
	if (last == n)
		return;
	heap_set(h, i, last);
	vc_heap_fix(h, last);
}

void vc_heap_fix(struct vc_heap *h, struct vc_heap_node *n)
{
	unsigned int i;

	if (!n->pos)
		return;
	i = n->pos - 1;
	if (i && vc_heap_before(n, h->a[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

/* ---- parameter values ---------------------------------------------------------- */

int vc_sched_parse_time(const char *val, vc_time_t default_unit, vc_time_t min,
			vc_time_t max, vc_time_t *out)
{
	vc_time_t t;

	if (vc_parse_time(val, default_unit, &t) || t < min || t > max)
		return -VC_EINVAL;
	*out = t;
	return 0;
}

int vc_sched_parse_uint(const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t x;

	if (vc_parse_u64(val, &x) || x < min || x > max)
		return -VC_EINVAL;
	*out = x;
	return 0;
}

int vc_sched_parse_bool(const char *val, bool *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	if (!val)
		return -VC_EINVAL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(yes); i++) {
		if (!vc_strcmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!vc_strcmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -VC_EINVAL;
}

const char *vc_sched_fmt_time(char buf[VC_SCHED_TIME_STR], vc_time_t t)
{
	static const struct {
		vc_time_t mult;
		const char *unit;
	} units[] = {
		{ VC_SEC(1), "s" }, { VC_MSEC(1), "ms" }, { VC_USEC(1), "us" },
	};
	size_t i;

	for (i = 0; i < VC_ARRAY_SIZE(units); i++)
		if (t && t % units[i].mult == 0)
			break;
	if (i == VC_ARRAY_SIZE(units))
		vc_snprintf(buf, VC_SCHED_TIME_STR, "%lluns", (unsigned long long)t);
	else
		vc_snprintf(buf, VC_SCHED_TIME_STR, "%llu%s",
			    (unsigned long long)(t / units[i].mult), units[i].unit);
	return buf;
}
