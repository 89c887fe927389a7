// SPDX-License-Identifier: MIT
/*
 * DOC: intrusive binary min-heap
 *
 * The implementation behind include/vcoproc/heap.h.  Freestanding like the
 * rest of the core; it takes no lock (its owner serializes the calls) and
 * allocates only in vc_heap_reserve().
 */
#include <vcoproc/errno.h>
#include <vcoproc/heap.h>

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

		if (!vc_heap_before(h, n, h->a[parent]))
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
		if (child + 1 < h->nr && vc_heap_before(h, h->a[child + 1], h->a[child]))
			child++;
		if (!vc_heap_before(h, h->a[child], n))
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
	while (newcap < cap) {
		if (newcap > ~0u / 2)
			return -VC_ENOMEM;
		newcap *= 2;
	}
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
	for (unsigned int i = 0; i < h->nr; i++)
		h->a[i]->pos = 0;
	vc_os_free(h->a);
	h->a = NULL;
	h->nr = h->cap = 0;
}

int vc_heap_push(struct vc_heap *h, struct vc_heap_node *n)
{
	if (n->pos)
		return -VC_EBUSY;
	if (h->nr == h->cap)
		return -VC_ENOSPC;
	heap_set(h, h->nr++, n);
	sift_up(h, h->nr - 1);
	return 0;
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
	if (i && vc_heap_before(h, n, h->a[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}
