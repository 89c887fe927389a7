// SPDX-License-Identifier: MIT
/*
 * DOC: vhost-user backend - split virtqueues over the mapped memory table
 *
 * The rings live in guest memory the guest may change at any moment, so
 * every value read from them is read once (a volatile load into a local)
 * and checked before use; indices are reduced modulo the ring size only
 * after they were checked.  Ordering against the guest: the available
 * index is loaded with acquire semantics before the entries it covers;
 * the used index is stored with release semantics after the entry it
 * publishes; a full fence separates a published avail_event (or a used
 * index) from the read of what the driver asked for (the available index,
 * used_event, the available ring's flags) - virtio 1.2, 2.7.7 and 2.7.10.
 *
 * Ownership and locking: see virtq.h.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "virtq.h"

static bool range_in(uint64_t addr, uint64_t len, uint64_t base, uint64_t size)
{
	/* [addr, addr + len) inside [base, base + size), without overflow. */
	return addr >= base && addr - base <= size && len <= size - (addr - base);
}

void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len, bool write)
{
	if (!len)
		return NULL;
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = &m->regions[i];

		if (range_in(gpa, len, r->gpa, r->size))
			return (write && !r->writable) ? NULL : r->host + (gpa - r->gpa);
	}
	return NULL;
}

void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len, bool write)
{
	if (!len)
		return NULL;
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = &m->regions[i];

		if (range_in(uva, len, r->uva, r->size))
			return (write && !r->writable) ? NULL : r->host + (uva - r->uva);
	}
	return NULL;
}

/* ---- guest-memory accessors ------------------------------------------------------ */

static uint16_t load16(const uint16_t *p)
{
	return le16toh(*(const volatile uint16_t *)p);
}

static uint16_t load16_acquire(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void store16(uint16_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = htole16(v);
}

static void store16_release(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* One descriptor, read once. */
static void read_desc(const struct vu_desc *table, unsigned int i, struct vu_desc *d)
{
	const volatile struct vu_desc *s = &table[i];

	d->addr = le64toh(s->addr);
	d->len = le32toh(s->len);
	d->flags = le16toh(s->flags);
	d->next = le16toh(s->next);
}

static uint16_t *used_event(const struct vu_virtq *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event(const struct vu_virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

int vu_fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* The frontend shares the file and could have made it blocking again. */
	if (fd >= 0 && !vu_fd_nonblock(fd) && write(fd, &one, sizeof(one)) < 0) {
		/* A saturated counter (EAGAIN) has been signalled already. */
	}
}

static void set_broken(struct vu_virtq *vq)
{
	if (!vq->broken) {
		vq->broken = true;
		signal_fd(vq->err_fd);
	}
}

/* ---- set-up ---------------------------------------------------------------------- */

int vu_virtq_map(struct vu_virtq *vq)
{
	uint64_t n = vq->num;
	struct vu_desc *desc;
	struct vu_avail *avail;
	struct vu_used *used;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (!n || n > VU_VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if (!vq->addr_set || (vq->desc_uva & 15) || (vq->avail_uva & 1) || (vq->used_uva & 3))
		return -EINVAL;
	/* With the event fields, which the driver's layout always has. */
	desc = vu_mem_uva(vq->mem, vq->desc_uva, 16 * n, false);
	avail = vu_mem_uva(vq->mem, vq->avail_uva, 6 + 2 * n, false);
	used = vu_mem_uva(vq->mem, vq->used_uva, 6 + 8 * n, true);
	if (!desc || !avail || !used)
		return -EFAULT;
	/*
	 * Aligned as this process maps them too: a region whose mmap_offset and
	 * uva disagree in their low bits would put an aligned uva on an odd
	 * host address.
	 */
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return -EINVAL;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return 0;
}

void vu_virtq_start(struct vu_virtq *vq, uint16_t last_avail_idx, bool event_idx)
{
	vq->last_avail_idx = last_avail_idx;
	vq->used_idx = load16(&vq->used->idx);
	vq->signalled_used_valid = false;
	vq->event_idx = event_idx;
	vq->broken = false;
	vq->started = true;
}

bool vu_virtq_is_broken(const struct vu_virtq *vq)
{
	return vq->broken;
}

unsigned int vu_virtq_size(const struct vu_virtq *vq)
{
	return vq->num;
}

/* ---- pop ------------------------------------------------------------------------- */

static int add_seg(struct vu_virtq *vq, struct vu_elem *e, const struct vu_desc *d,
		   uint64_t *total)
{
	bool write = d->flags & VU_DESC_F_WRITE;
	struct vu_seg *s;
	void *host = NULL;

	if (!write && e->n_in)
		return -EINVAL; /* readable after writable */
	if (e->n_out + e->n_in >= e->max_segs)
		return -E2BIG;
	*total += d->len;
	if (*total > UINT32_MAX)
		return -EOVERFLOW;
	if (d->len) {
		host = vu_mem_gpa(vq->mem, d->addr, d->len, write);
		if (!host)
			return -EFAULT;
	}
	s = &e->segs[e->n_out + e->n_in];
	s->gpa = d->addr;
	s->len = d->len;
	s->host = host;
	if (write) {
		e->n_in++;
		e->in_len += d->len;
	} else {
		e->n_out++;
		e->out_len += d->len;
	}
	return 0;
}

/* Walk the chain at @head; the element's head is already set. */
static int walk_chain(struct vu_virtq *vq, struct vu_elem *e)
{
	const struct vu_desc *table = vq->desc;
	unsigned int max = vq->num, i = e->head, seen = 0;
	uint64_t total = 0;
	bool indirect = false;
	struct vu_desc d;
	int r;

	for (;;) {
		read_desc(table, i, &d);
		if (d.flags & VU_DESC_F_INDIRECT) {
			if (indirect || seen || (d.flags & VU_DESC_F_NEXT))
				return -EINVAL;
			if (!d.len || (d.len & 15) || d.len / 16 > VU_VIRTQ_MAX_SIZE)
				return -EINVAL;
			table = vu_mem_gpa(vq->mem, d.addr, d.len, false);
			if (!table)
				return -EFAULT;
			max = d.len / 16;
			i = 0;
			indirect = true;
			continue;
		}
		if (++seen > max)
			return -ELOOP;
		r = add_seg(vq, e, &d, &total);
		if (r)
			return r;
		if (!(d.flags & VU_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= max)
			return -EINVAL;
	}
}

int vu_virtq_pop(struct vu_virtq *vq, struct vu_elem *e)
{
	uint16_t avail_idx, head;
	int r;

	if (vq->broken || !vq->started)
		return -EIO;
	avail_idx = load16_acquire(&vq->avail->idx);
	if (avail_idx == vq->last_avail_idx) {
		if (!vq->event_idx)
			return 0;
		/* Ask for a kick at the next entry, then look once more. */
		store16(avail_event(vq), vq->last_avail_idx);
		full_fence();
		avail_idx = load16_acquire(&vq->avail->idx);
		if (avail_idx == vq->last_avail_idx)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->num) {
		set_broken(vq);
		return -EIO;
	}
	head = load16(&vq->avail->ring[vq->last_avail_idx & (vq->num - 1)]);
	vq->last_avail_idx++;
	if (vq->event_idx)
		store16(avail_event(vq), vq->last_avail_idx);
	if (head >= vq->num) {
		set_broken(vq);
		return -EIO;
	}
	e->head = head;
	e->n_out = e->n_in = 0;
	e->out_len = e->in_len = 0;
	if (!e->segs)
		e->max_segs = 0;
	r = walk_chain(vq, e);
	return r ? r : 1;
}

/* ---- push and notify ------------------------------------------------------------- */

int vu_virtq_push(struct vu_virtq *vq, const struct vu_elem *e, uint32_t len)
{
	struct vu_used_elem *u;

	if (vq->broken || !vq->started)
		return -EIO;
	if (e->head >= vq->num)
		return -EINVAL;
	if (len > e->in_len)
		len = e->in_len;
	u = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	*(volatile uint32_t *)&u->id = htole32(e->head);
	*(volatile uint32_t *)&u->len = htole32(len);
	vq->used_idx++;
	store16_release(&vq->used->idx, vq->used_idx);
	return 0;
}

/* virtio 1.2, 2.7.10: has new_idx passed event since old? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vu_virtq_notify(struct vu_virtq *vq)
{
	bool need;

	if (vq->broken || !vq->started || vq->call_fd < 0)
		return false;
	/* Nothing used since the last notification: nothing to tell. */
	if (vq->signalled_used_valid && vq->signalled_used == vq->used_idx)
		return false;
	full_fence(); /* the used index before what the driver asked */
	if (vq->event_idx) {
		uint16_t old = vq->signalled_used;
		bool valid = vq->signalled_used_valid;

		need = !valid || need_event(load16(used_event(vq)), vq->used_idx, old);
	} else {
		need = !(load16(&vq->avail->flags) & VU_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (need)
		signal_fd(vq->call_fd);
	return need;
}
