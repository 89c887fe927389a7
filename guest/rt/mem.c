// SPDX-License-Identifier: MIT
/*
 * DOC: heap - a small first-fit allocator
 *
 * The heap is the RAM between the end of the image and the end of RAM.
 * Free blocks form a singly linked list in address order; a free block
 * starts with struct blk (its size including the header, and the next
 * free block).  An allocated block keeps the same header with a magic in
 * place of the link, right before the returned pointer, so mem__free()
 * can check what it is given.  Aligned allocations split off the front
 * gap as a free block of its own; freeing merges with both neighbours.
 *
 * Not for interrupt handlers (no locking); 16-byte granularity.
 */
#include "rt.h"

struct blk {
	size_t size;        /* bytes, header included; multiple of 16 */
	struct blk *next;   /* free: next free block; allocated: BLK_MAGIC */
};

#define HDR       sizeof(struct blk)
#define MIN_BLOCK (2 * HDR)
#define BLK_MAGIC ((struct blk *)(uintptr_t)0xa110ca7edb10c000ull)

static struct blk *free_list;

void mem__init(uintptr_t start, uintptr_t end)
{
	start = ALIGN_UP(start, (uintptr_t)16);
	end &= ~(uintptr_t)15;
	free_list = NULL;
	if (end <= start + MIN_BLOCK)
		return;
	free_list = (struct blk *)start;
	free_list->size = end - start;
	free_list->next = NULL;
}

/*
 * Allocate [p, p + size) out of free block *@link (which holds it, with
 * room for the header before p): the front gap stays a free block, the
 * tail becomes one when it is big enough.  Returns p.
 */
static void *carve(struct blk **link, uintptr_t p, size_t size)
{
	struct blk *b = *link, *a = (struct blk *)(p - HDR);
	uintptr_t start = (uintptr_t)b, end = start + b->size;

	a->size = size + HDR;
	/* Tail: a free block of its own, or absorbed when too small. */
	if (end - (p + size) >= MIN_BLOCK) {
		struct blk *t = (struct blk *)(p + size);

		t->size = end - (p + size);
		t->next = b->next;
		b->next = t;
	} else {
		a->size = end - (uintptr_t)a;
	}
	if (a == b) {
		*link = b->next;
	} else {
		b->size = (uintptr_t)a - start; /* the front gap stays in place */
	}
	a->next = BLK_MAGIC;
	return (void *)p;
}

void *mem__alloc(size_t size, size_t align)
{
	struct blk **link, *b;

	if (align < 16)
		align = 16;
	if (align & (align - 1) || size > ((size_t)1 << 40))
		return NULL;
	size = ALIGN_UP(size ? size : 1, (size_t)16);
	for (link = &free_list; (b = *link); link = &b->next) {
		uintptr_t start = (uintptr_t)b, end = start + b->size;
		uintptr_t p = ALIGN_UP(start + HDR, (uintptr_t)align);

		/* A front gap must be big enough to stay a free block. */
		if (p - HDR != start && p - HDR - start < MIN_BLOCK)
			p = ALIGN_UP(start + HDR + MIN_BLOCK, (uintptr_t)align);
		if (p + size > end)
			continue;
		return carve(link, p, size);
	}
	return NULL;
}

void *mem__alloc_at(uintptr_t p, size_t size)
{
	struct blk **link, *b;

	if (p % 16 || size > ((size_t)1 << 40))
		return NULL;
	size = ALIGN_UP(size ? size : 1, (size_t)16);
	for (link = &free_list; (b = *link); link = &b->next) {
		uintptr_t start = (uintptr_t)b, end = start + b->size;

		if (p < start + HDR || p + size > end)
			continue;
		if (p - HDR != start && p - HDR - start < MIN_BLOCK)
			return NULL;
		return carve(link, p, size);
	}
	return NULL;
}

void *mem__zalloc(size_t size, size_t align)
{
	void *p = mem__alloc(size, align);

	if (p)
		memset(p, 0, size);
	return p;
}

void mem__free(void *ptr)
{
	struct blk *b, **link, *prev = NULL;

	if (!ptr)
		return;
	b = (struct blk *)((uintptr_t)ptr - HDR);
	BUG_ON(b->next != BLK_MAGIC);
	for (link = &free_list; *link && *link < b; link = &(*link)->next)
		prev = *link;
	b->next = *link;
	*link = b;
	if (b->next && (uintptr_t)b + b->size == (uintptr_t)b->next) {
		b->size += b->next->size;
		b->next = b->next->next;
	}
	if (prev && (uintptr_t)prev + prev->size == (uintptr_t)b) {
		prev->size += b->size;
		prev->next = b->next;
	}
}

size_t mem__free_bytes(void)
{
	size_t n = 0;

	for (struct blk *b = free_list; b; b = b->next)
		n += b->size - HDR;
	return n;
}
