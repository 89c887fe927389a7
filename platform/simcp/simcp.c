// SPDX-License-Identifier: MIT
/*
 * DOC: simcp device model
 *
 * What one simcp context is and does, independent of time: its register
 * file (simcp_hw.h) with its key slots and its scratch memory (ctx_size
 * bytes, tracked in dirty pages so that a switch moves only what the
 * context wrote), the decoding and checking of a command from the ring
 * (the bound on non-preemptible sections included), the command's data
 * work on guest memory and scratch, and its retirement (HEAD, FENCE,
 * faults, interrupts, counters).  engine.c decides when these run;
 * platform.c adapts the contexts to the framework.
 *
 * Everything the guest controls is untrusted: the ring registers are
 * checked before every fetch, a command is copied out of the ring once and
 * then checked field by field, every scratch range is bounds-checked, and
 * every DMA range is translated whole, source and destination, through the
 * device's current IOMMU context before a single byte moves.  A failed
 * check turns the command into a fault: FAULT_* are set, HEAD skips the
 * command, the ring halts until CONTROL.RESUME and IRQ_STATUS.ERROR is
 * raised.  Nothing outside the domain is ever read or written.
 *
 * Locking: see simcp_priv.h.  Functions here run with s->lock held except
 * simcp_work() and the context allocation.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crc32c.h"
#include "sha256.h"
#include "simcp_priv.h"

/* ---- little-endian helpers ------------------------------------------- */

static inline uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static inline void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * An 8-byte DMA access to guest memory that another CPU may be writing at
 * the same time: atomic when the host address allows it.
 */
static uint64_t dma_read64(const uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (!((uintptr_t)p & 7))
		return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
#endif
	return get_le(p, 8);
}

static void dma_write64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (!((uintptr_t)p & 7)) {
		__atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELEASE);
		return;
	}
#endif
	put_le(p, v, 8);
}

void simcp_scrub(void *p, size_t len)
{
	memset(p, 0, len);
	/* The zeroing is the point even if nothing reads it afterwards. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* ---- scratch pages and the state a switch moves ----------------------- */

static bool page_dirty(const struct simcp_state *st, unsigned int p)
{
	return st->dirty[p / 64] >> (p % 64) & 1;
}

/* Mark the pages of scratch[@off, +@len) written; the range is checked. */
static void mark_dirty(struct simcp_state *st, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t p = off >> SIMCP_PAGE_SHIFT; p <= (off + len - 1) >> SIMCP_PAGE_SHIFT; p++)
		st->dirty[p / 64] |= 1ull << (p % 64);
}

static unsigned int nr_dirty(const struct simcp *s, const struct simcp_state *st)
{
	unsigned int n = 0;

	for (unsigned int w = 0; w < (s->nr_pages + 63) / 64; w++)
		n += (unsigned int)__builtin_popcountll(st->dirty[w]);
	return n;
}

/*
 * What a switch moves besides the pages: the registers, the completed
 * count and the dirty bitmap (one bit per page of ctx_size), plus one
 * struct simcp_keyslot per slot in use.
 */
static uint64_t state_fixed_bytes(const struct simcp *s)
{
	return sizeof(struct simcp_regs) + sizeof(uint64_t) + (s->nr_pages + 7) / 8;
}

uint64_t simcp_state_bytes(const struct simcp *s, const struct simcp_state *st)
{
	uint64_t n = state_fixed_bytes(s);

	for (unsigned int i = 0; i < SIMCP_KEY_SLOTS; i++)
		if (st->keys[i].len)
			n += sizeof(struct simcp_keyslot);
	return n + (uint64_t)nr_dirty(s, st) * SIMCP_PAGE_SIZE;
}

uint64_t simcp_state_move(const struct simcp *s, struct simcp_state *dst,
			  const struct simcp_state *src)
{
	for (unsigned int p = 0; p < s->nr_pages; p++) {
		uint8_t *d = dst->scratch + (size_t)p * SIMCP_PAGE_SIZE;

		if (page_dirty(src, p))
			memcpy(d, src->scratch + (size_t)p * SIMCP_PAGE_SIZE, SIMCP_PAGE_SIZE);
		else if (page_dirty(dst, p))
			simcp_scrub(d, SIMCP_PAGE_SIZE); /* never another context's data */
	}
	dst->r = src->r;
	dst->completed = src->completed;
	/* Empty slots are zero: copying them moves no more than the valid bits. */
	memcpy(dst->keys, src->keys, sizeof(dst->keys));
	memcpy(dst->dirty, src->dirty, sizeof(dst->dirty));
	return simcp_state_bytes(s, src);
}

void simcp_state_scrub(const struct simcp *s, struct simcp_state *st)
{
	for (unsigned int p = 0; p < s->nr_pages; p++)
		if (page_dirty(st, p))
			simcp_scrub(st->scratch + (size_t)p * SIMCP_PAGE_SIZE, SIMCP_PAGE_SIZE);
	simcp_scrub(&st->r, sizeof(st->r));
	st->completed = 0;
	simcp_scrub(st->keys, sizeof(st->keys));
	memset(st->dirty, 0, sizeof(st->dirty));
}

/* ---- contexts -------------------------------------------------------- */

int simcp_ctx_alloc(struct simcp *s, uint32_t tag, struct simcp_ctx **out)
{
	struct simcp_ctx *x;

	/* Zeroed memory is the scrubbed reset state: regs 0, scratch 0. */
	x = vc_os_zalloc(sizeof(*x));
	if (!x)
		return -VC_ENOMEM;
	x->st.scratch = vc_os_zalloc(s->ctx_size);
	if (!x->st.scratch)
		goto out_ctx;
	x->dev = s;
	x->tag = tag;
	*out = x;
	return 0;

out_ctx:
	vc_os_free(x);
	return -VC_ENOMEM;
}

void simcp_ctx_free(struct simcp_ctx *x)
{
	struct simcp *s;

	if (!x)
		return;
	s = x->dev;
	pthread_mutex_lock(&s->lock);
	simcp_wait_work(s);
	/* Its queued events could only be stale now; the others keep their order. */
	for (unsigned int i = 0, n = s->nr_ev; i < n; i++) {
		if (s->evq[i].tag == x->tag)
			s->nr_ev--;
		else
			s->evq[i - (n - s->nr_ev)] = s->evq[i];
	}
	if (s->owner == x) {
		/* Freed while on the device: take it off and leave no copy. */
		if (s->loaded) {
			simcp_abort(s, false);
			s->started = false;
			s->loaded = false;
		}
		simcp_state_scrub(s, &s->live);
		s->owner = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	/* Only its dirty pages can hold data; the rest is zero already. */
	simcp_state_scrub(s, &x->st);
	vc_os_free(x->st.scratch);
	simcp_scrub(x, sizeof(*x));
	vc_os_free(x);
}

uint32_t simcp_ctx_tag(const struct simcp_ctx *x)
{
	return x->tag;
}

/* The state that is @x's current one: live when loaded, else saved. */
static struct simcp_state *ctx_state(struct simcp_ctx *x, bool *live)
{
	struct simcp *s = x->dev;

	*live = s->loaded && s->owner == x;
	return *live ? &s->live : &x->st;
}

bool simcp_state_has_work(const struct simcp_state *st)
{
	const struct simcp_regs *r = &st->r;

	return (r->control & SIMCP_CTRL_ENABLE) && !r->halted && r->head != r->tail;
}

bool simcp_has_work(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	bool live, ret;

	pthread_mutex_lock(&s->lock);
	ret = simcp_state_has_work(ctx_state(x, &live));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

uint64_t simcp_progress(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	uint64_t ret;
	bool live;

	pthread_mutex_lock(&s->lock);
	ret = ctx_state(x, &live)->completed;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- interrupts and events ------------------------------------------- */

void simcp_queue_event(struct simcp *s, uint32_t tag, enum vc_event ev)
{
	/* Edges of one kind for one context coalesce until delivered. */
	for (unsigned int i = 0; i < s->nr_ev; i++)
		if (s->evq[i].tag == tag && s->evq[i].ev == ev)
			return;
	if (s->nr_ev == SIMCP_EVQ_LEN) {
		s->stats.events_dropped++;
		return;
	}
	s->evq[s->nr_ev].tag = tag;
	s->evq[s->nr_ev].ev = ev;
	s->nr_ev++;
}

void simcp_raise(struct simcp *s, struct simcp_state *st, uint32_t tag, uint32_t bits)
{
	struct simcp_regs *r = &st->r;
	uint32_t before = r->irq_status & r->irq_mask;

	r->irq_status |= bits;
	if ((r->irq_status & r->irq_mask) & ~before)
		simcp_queue_event(s, tag, VC_EV_IRQ);
}

void simcp_hang_reset(struct simcp_state *st)
{
	struct simcp_regs *r = &st->r;

	r->fault_code = SIMCP_FAULT_HANG;
	r->fault_addr = 0;
	r->fault_head = r->head;
	r->head = r->tail;
	r->halted = true;
	/*
	 * Pending, but no event: the framework raises the domain's interrupt
	 * itself after a reset, and one reset is one interrupt.
	 */
	r->irq_status |= SIMCP_IRQ_ERROR;
}

/* ---- registers ------------------------------------------------------- */

static bool reg_exists(uint64_t off)
{
	switch (off) {
	case SIMCP_REG_ID: case SIMCP_REG_VERSION: case SIMCP_REG_CAPS:
	case SIMCP_REG_SCRATCH_SIZE: case SIMCP_REG_CONTROL:
	case SIMCP_REG_STATUS: case SIMCP_REG_IRQ_STATUS:
	case SIMCP_REG_IRQ_MASK: case SIMCP_REG_IRQ_ACK:
	case SIMCP_REG_RING_BASE_LO: case SIMCP_REG_RING_BASE_HI:
	case SIMCP_REG_RING_SIZE: case SIMCP_REG_RING_HEAD:
	case SIMCP_REG_RING_TAIL: case SIMCP_REG_FENCE_LO:
	case SIMCP_REG_FENCE_HI: case SIMCP_REG_FAULT_CODE:
	case SIMCP_REG_FAULT_ADDR_LO: case SIMCP_REG_FAULT_ADDR_HI:
	case SIMCP_REG_FAULT_HEAD: case SIMCP_REG_CMDS_DONE:
		return true;
	default:
		return false;
	}
}

/* 32-bit registers, plus 64-bit accesses to the LO half of a 64-bit pair. */
static bool access_ok(uint64_t off, unsigned int size)
{
	if (size == 4)
		return reg_exists(off);
	if (size == 8)
		return off == SIMCP_REG_RING_BASE_LO || off == SIMCP_REG_FENCE_LO ||
		       off == SIMCP_REG_FAULT_ADDR_LO;
	return false;
}

static uint32_t reg_read(const struct simcp *s, const struct simcp_state *st,
			 bool live, uint64_t off)
{
	const struct simcp_regs *r = &st->r;
	uint32_t v;

	switch (off) {
	case SIMCP_REG_ID:           return SIMCP_ID_VALUE;
	case SIMCP_REG_VERSION:      return SIMCP_VERSION_VALUE;
	case SIMCP_REG_CAPS:
		return SIMCP_CAP_CRC32C | SIMCP_CAP_SHA256 | SIMCP_CAP_NOPREEMPT |
		       (s->aes[0] ? SIMCP_CAP_AES : 0);
	case SIMCP_REG_SCRATCH_SIZE: return s->ctx_size;
	case SIMCP_REG_CONTROL:      return r->control;
	case SIMCP_REG_STATUS:
		v = 0;
		if ((live && s->cur.phase != SIMCP_PH_NONE) || simcp_state_has_work(st))
			v |= SIMCP_STATUS_BUSY;
		if ((r->control & SIMCP_CTRL_ENABLE) && r->head == r->tail)
			v |= SIMCP_STATUS_IDLE;
		if (r->halted)
			v |= SIMCP_STATUS_HALTED;
		return v;
	case SIMCP_REG_IRQ_STATUS:   return r->irq_status;
	case SIMCP_REG_IRQ_MASK:     return r->irq_mask;
	case SIMCP_REG_RING_BASE_LO: return (uint32_t)r->ring_base;
	case SIMCP_REG_RING_BASE_HI: return (uint32_t)(r->ring_base >> 32);
	case SIMCP_REG_RING_SIZE:    return r->ring_size;
	case SIMCP_REG_RING_HEAD:    return r->head;
	case SIMCP_REG_RING_TAIL:    return r->tail;
	case SIMCP_REG_FENCE_LO:     return (uint32_t)r->fence;
	case SIMCP_REG_FENCE_HI:     return (uint32_t)(r->fence >> 32);
	case SIMCP_REG_FAULT_CODE:   return r->fault_code;
	case SIMCP_REG_FAULT_ADDR_LO: return (uint32_t)r->fault_addr;
	case SIMCP_REG_FAULT_ADDR_HI: return (uint32_t)(r->fault_addr >> 32);
	case SIMCP_REG_FAULT_HEAD:   return r->fault_head;
	case SIMCP_REG_CMDS_DONE:    return (uint32_t)r->cmds_done;
	default:                     return 0; /* IRQ_ACK is write-only */
	}
}

/* The ring is re-initialised: HEAD = TAIL = 0. */
static void ring_reprogrammed(struct simcp *s, struct simcp_regs *r, bool live)
{
	r->head = 0;
	r->tail = 0;
	if (live && s->cur.phase != SIMCP_PH_NONE)
		s->cur.ring_changed = true;
}

/*
 * CONTROL.RESET: the whole context back to the scrubbed reset state.  Live,
 * the command in flight is dropped (simcp_mmio() waited for its data work)
 * and the scrub occupies the device for what it zeroes: the registers, the
 * keys in use and the dirty pages, at ctx_bw, like a save of that state.
 */
static void ctl_reset(struct simcp *s, struct simcp_state *st, bool live)
{
	uint64_t completed = st->completed;

	if (live) {
		vc_time_t now = simcp_now(s);

		simcp_abort(s, true);
		s->busy_until = (s->busy_until > now ? s->busy_until : now) +
				simcp_move_ns(s, simcp_state_bytes(s, st));
	}
	simcp_state_scrub(s, st);
	st->completed = completed;  /* not device state a driver sees: progress() */
}

/* Returns whether the write may have given the context work. */
static bool reg_write(struct simcp *s, struct simcp_ctx *x, struct simcp_state *st,
		      bool live, uint64_t off, uint32_t v)
{
	struct simcp_regs *r = &st->r;
	uint32_t before;

	switch (off) {
	case SIMCP_REG_CONTROL:
		if (v & SIMCP_CTRL_RESET)
			ctl_reset(s, st, live);
		r->control = v & SIMCP_CTRL_ENABLE;
		if (v & SIMCP_CTRL_RESUME) {
			/* FAULT_CODE != 0 exactly while halted. */
			r->halted = false;
			r->fault_code = SIMCP_FAULT_NONE;
			r->fault_addr = 0;
			r->fault_head = 0;
		}
		return simcp_state_has_work(st);
	case SIMCP_REG_IRQ_MASK:
		before = r->irq_status & r->irq_mask;
		r->irq_mask = v & (SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
		/* Unmasking a pending bit is an edge too. */
		if ((r->irq_status & r->irq_mask) & ~before)
			simcp_queue_event(s, x->tag, VC_EV_IRQ);
		return false;
	case SIMCP_REG_IRQ_ACK:
		r->irq_status &= ~v;
		return false;
	case SIMCP_REG_RING_BASE_LO:
		r->ring_base = (r->ring_base & ~0xffffffffull) | v;
		ring_reprogrammed(s, r, live);
		return false;
	case SIMCP_REG_RING_BASE_HI:
		r->ring_base = (r->ring_base & 0xffffffffull) | (uint64_t)v << 32;
		ring_reprogrammed(s, r, live);
		return false;
	case SIMCP_REG_RING_SIZE:
		r->ring_size = v;
		ring_reprogrammed(s, r, live);
		return false;
	case SIMCP_REG_RING_TAIL:
		/* Checked when the device fetches, like RING_BASE and _SIZE. */
		r->tail = v;
		return true;
	default:
		return false; /* read-only: writes are ignored */
	}
}

enum vc_io simcp_mmio(struct simcp_ctx *x, uint64_t off, unsigned int size,
		      bool write, uint64_t *val)
{
	struct simcp *s = x->dev;
	struct simcp_state *st;
	unsigned int nr_ev;
	enum vc_io ret = VC_IO_OK;
	bool live, had, work = false, kick;

	if (!access_ok(off, size)) {
		if (!write)
			*val = ~0ull;
		return VC_IO_BAD;
	}

	pthread_mutex_lock(&s->lock);
	/* A reset drops the command in flight: not in the middle of its work. */
	if (write && off == SIMCP_REG_CONTROL && (*val & SIMCP_CTRL_RESET))
		simcp_wait_work(s);
	nr_ev = s->nr_ev;
	st = ctx_state(x, &live);
	if (!write) {
		*val = reg_read(s, st, live, off);
		if (size == 8)
			*val |= (uint64_t)reg_read(s, st, live, off + 4) << 32;
	} else {
		had = simcp_state_has_work(st);
		work = reg_write(s, x, st, live, off, (uint32_t)*val);
		if (size == 8)
			work |= reg_write(s, x, st, live, off + 4, (uint32_t)(*val >> 32));
		if (work || off == SIMCP_REG_RING_TAIL)
			ret = VC_IO_WORK;
		/* No context is started with work from before it arrived (engine.c). */
		if (!had && simcp_state_has_work(st))
			x->work_at = simcp_now(s);
	}
	/*
	 * Let the engine run new work, or deliver an interrupt edge: woken
	 * after the lock is dropped, so the device thread does not wake only
	 * to wait for it (the change it is woken for was made under the lock).
	 */
	kick = (live && write) || s->nr_ev != nr_ev;
	if (kick)
		simcp_kick_mark(s);
	pthread_mutex_unlock(&s->lock);
	if (kick)
		simcp_kick_wake(s);
	return ret;
}

/* ---- commands: fetch and check --------------------------------------- */

static bool ring_valid(const struct simcp_regs *r)
{
	uint32_t size = r->ring_size;

	if (size < 64 || size > (1u << 20) || (size & (size - 1)))
		return false;
	if ((r->ring_base & (SIMCP_CMD_SIZE - 1)) || r->ring_base > UINT64_MAX - size)
		return false;
	return r->head < size && r->tail < size &&
	       !(r->head & (SIMCP_CMD_SIZE - 1)) && !(r->tail & (SIMCP_CMD_SIZE - 1));
}

static void decode(struct simcp_cmd *c, const uint8_t raw[SIMCP_CMD_SIZE])
{
	c->op = raw[0];
	c->flags = raw[1];
	c->arg = (uint16_t)get_le(raw + 2, 2);
	c->len = (uint32_t)get_le(raw + 4, 4);
	c->a = get_le(raw + 8, 8);
	c->b = get_le(raw + 16, 8);
	c->c = get_le(raw + 24, 8);
}

static void set_fault(struct simcp_inflight *f, uint32_t code, uint64_t addr)
{
	if (f->fault)
		return; /* the first check that failed wins */
	f->fault = code;
	f->fault_addr = addr;
	f->src = NULL;
	f->dst = NULL;
}

/* Translate [@gpa, +@len) or fault at @gpa; len 0 needs no DMA. */
static void *xlate(struct simcp *s, struct simcp_inflight *f, uint64_t gpa,
		   uint64_t len, bool write)
{
	void *p;

	if (!len || f->fault)
		return NULL;
	p = vc_iommu_translate(s->iommu, gpa, len, write);
	if (!p)
		set_fault(f, SIMCP_FAULT_DMA, gpa);
	return p;
}

/* [@off, +@len) fits in scratch memory. */
static bool scratch_range_ok(const struct simcp *s, uint64_t off, uint64_t len)
{
	return off <= s->ctx_size && len <= s->ctx_size - off;
}

static bool gpa_overlap(uint64_t a, uint64_t b, uint64_t len)
{
	return a < b ? b - a < len : a - b < len;
}

/* One contiguous DMA range as the only segment of an AES_CBC side. */
static unsigned int seg_contig(struct simcp *s, struct simcp_inflight *f, uint64_t gpa,
			       uint64_t len, bool write, struct simcp_seg *seg)
{
	seg->p = xlate(s, f, gpa, len, write);
	seg->len = len;
	return seg->p ? 1 : 0;
}

/*
 * Read the SG table at guest-physical @table, entry by entry, until the
 * entries' lengths add up to @len, translating each entry and each data
 * range (for writing when @write) into @seg.  Each entry is copied out of
 * guest memory once.  Returns the number of segments (zero-length entries
 * are dropped), or 0 with f->fault set.
 */
static unsigned int seg_table(struct simcp *s, struct simcp_inflight *f, uint64_t table,
			      uint64_t len, bool write, struct simcp_seg *seg)
{
	uint64_t left = len;
	unsigned int n = 0;

	if ((table & (SIMCP_SG_ENTRY_SIZE - 1)) ||
	    table > UINT64_MAX - (uint64_t)SIMCP_SG_MAX_ENTRIES * SIMCP_SG_ENTRY_SIZE)
		goto bad;
	for (unsigned int i = 0; left; i++) {
		uint64_t at = table + (uint64_t)i * SIMCP_SG_ENTRY_SIZE, addr;
		uint8_t e[SIMCP_SG_ENTRY_SIZE];
		const uint8_t *p;
		uint32_t elen;

		if (i == SIMCP_SG_MAX_ENTRIES)
			goto bad; /* the table does not add up to len in time */
		p = xlate(s, f, at, SIMCP_SG_ENTRY_SIZE, false);
		if (!p)
			return 0;
		memcpy(e, p, sizeof(e));
		addr = get_le(e, 8);
		elen = (uint32_t)get_le(e + 8, 4);
		if (get_le(e + 12, 4) || elen > left)
			goto bad;
		if (!elen)
			continue;
		seg[n].p = xlate(s, f, addr, elen, write);
		if (!seg[n].p)
			return 0;
		seg[n].len = elen;
		n++;
		left -= elen;
	}
	return n;
bad:
	set_fault(f, SIMCP_FAULT_BAD_CMD, 0);
	return 0;
}

/*
 * AES_CBC: the mode, the key slot, the length, then the IV, the source
 * and the destination (tables and data), all before any data moves.
 */
static void check_aes(struct simcp *s, struct simcp_inflight *f)
{
	const struct simcp_cmd *c = &f->cmd;
	uint16_t arg = c->arg;
	uint64_t len = c->len;

	if (!s->aes[0] || (arg & ~(SIMCP_ARG_SLOT_MASK | SIMCP_AES_DECRYPT | SIMCP_AES_SG)) ||
	    len > SIMCP_MAX_LEN || len % SIMCP_AES_BLOCK ||
	    !s->live.keys[arg & SIMCP_ARG_SLOT_MASK].len)
		goto bad;
	if (!len)
		return;
	/* Contiguous: in place, or apart (as COPY). */
	if (!(arg & SIMCP_AES_SG) && c->a != c->b && gpa_overlap(c->a, c->b, len))
		goto bad;
	f->iv = xlate(s, f, c->c, SIMCP_AES_BLOCK, false);
	if (arg & SIMCP_AES_SG_SRC)
		f->nr_seg[0] = seg_table(s, f, c->a, len, false, s->seg[0]);
	else
		f->nr_seg[0] = seg_contig(s, f, c->a, len, false, s->seg[0]);
	if (f->fault)
		return;
	if (arg & SIMCP_AES_SG_DST)
		f->nr_seg[1] = seg_table(s, f, c->b, len, true, s->seg[1]);
	else
		f->nr_seg[1] = seg_contig(s, f, c->b, len, true, s->seg[1]);
	return;
bad:
	set_fault(f, SIMCP_FAULT_BAD_CMD, 0);
}

/*
 * Check every operand of f->cmd and translate every DMA range before any
 * data moves.  Leaves f->fault set, or f->src/dst ready for simcp_work().
 */
static void check_cmd(struct simcp *s, struct simcp_inflight *f)
{
	const struct simcp_cmd *c = &f->cmd;
	uint64_t len = c->len;

	if (c->flags & ~(SIMCP_F_IRQ | SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN))
		goto bad;
	switch (c->op) {
	case SIMCP_OP_NOP:
		return;
	case SIMCP_OP_FENCE:
		if (c->b)
			f->dst = xlate(s, f, c->b, 8, true);
		return;
	case SIMCP_OP_COPY:
		if (len > SIMCP_MAX_LEN || (len && gpa_overlap(c->a, c->b, len)))
			goto bad;
		f->src = xlate(s, f, c->a, len, false);
		f->dst = xlate(s, f, c->b, len, true);
		return;
	case SIMCP_OP_FILL:
		if (len > SIMCP_MAX_LEN)
			goto bad;
		f->dst = xlate(s, f, c->b, len, true);
		return;
	case SIMCP_OP_HASH:
		if (len > SIMCP_MAX_LEN ||
		    (c->arg != SIMCP_HASH_CRC32C && c->arg != SIMCP_HASH_SHA256))
			goto bad;
		f->src = xlate(s, f, c->a, len, false);
		f->dst = xlate(s, f, c->b, c->arg == SIMCP_HASH_CRC32C ? 4 : 32, true);
		return;
	case SIMCP_OP_LOAD:
		if (len > SIMCP_MAX_LEN || !scratch_range_ok(s, c->b, len))
			goto bad;
		f->src = xlate(s, f, c->a, len, false);
		return;
	case SIMCP_OP_STORE:
		if (len > SIMCP_MAX_LEN || !scratch_range_ok(s, c->a, len))
			goto bad;
		f->dst = xlate(s, f, c->b, len, true);
		return;
	case SIMCP_OP_COMPUTE:
		if (len > s->ctx_size || c->a > SIMCP_MAX_COMPUTE_NS)
			goto bad;
		return;
	case SIMCP_OP_WAIT:
		f->src = xlate(s, f, c->a, 8, false);
		if (f->src)
			f->poll = dma_read64(f->src) != c->c;
		return;
	case SIMCP_OP_KEY:
		if (!s->aes[0] || (c->arg & ~(SIMCP_ARG_SLOT_MASK | SIMCP_KEY_CLEAR)))
			goto bad;
		if (c->arg & SIMCP_KEY_CLEAR) {
			if (len)
				goto bad;
			return;
		}
		if (len != 16 && len != 24 && len != 32)
			goto bad;
		f->src = xlate(s, f, c->a, len, false);
		return;
	case SIMCP_OP_AES_CBC:
		check_aes(s, f);
		return;
	default:
		goto bad;
	}
bad:
	set_fault(f, SIMCP_FAULT_BAD_CMD, 0);
}

static bool has_data_work(const struct simcp_cmd *c)
{
	switch (c->op) {
	case SIMCP_OP_COPY: case SIMCP_OP_FILL: case SIMCP_OP_LOAD:
	case SIMCP_OP_STORE: case SIMCP_OP_COMPUTE: case SIMCP_OP_AES_CBC:
		return c->len != 0;
	case SIMCP_OP_HASH: case SIMCP_OP_KEY:
		return true;
	default:
		return false;
	}
}

/*
 * The bound on non-preemptible sections, checked as a command begins: a
 * flagged command opens a section or, after a command flagged
 * SIMCP_F_CHAIN, continues the open one; if the section's modeled time
 * with this command would pass s->np_bound, the command is not run
 * (SIMCP_FAULT_NONPREEMPT) and the section ends.  An unflagged command
 * ends any section.  The modeled time of a WAIT is its cost when it is
 * satisfied at once; a flagged one still polling when the section reaches
 * the bound is cut there (engine.c, np_wait_cut()).
 */
static void np_section(struct simcp *s, struct simcp_inflight *f)
{
	vc_time_t spent = s->np_open ? s->np_spent : 0;
	vc_time_t cost = simcp_cmd_cost(s, &f->cmd);

	if (!(f->cmd.flags & SIMCP_F_NOPREEMPT)) {
		s->np_open = false;
		return;
	}
	if (cost > s->np_bound || spent > s->np_bound - cost) {
		s->np_open = false;
		set_fault(f, SIMCP_FAULT_NONPREEMPT, 0);
		return;
	}
	if (!s->np_open)
		s->np_refused = false;
	s->np_open = true;
	s->np_spent = spent + cost;
}

/* Mark the scratch pages @c is about to write (it passed its checks). */
static void scratch_written(struct simcp *s, const struct simcp_cmd *c)
{
	if (c->op == SIMCP_OP_LOAD)
		mark_dirty(&s->live, c->b, c->len);
	else if (c->op == SIMCP_OP_COMPUTE)
		mark_dirty(&s->live, 0, c->len);
}

vc_time_t simcp_np_rest(struct simcp *s)
{
	const struct simcp_regs *r = &s->live.r;
	const struct simcp_inflight *f = &s->cur;
	vc_time_t rest = 0, room;
	uint32_t at;

	if (!ring_valid(r) || r->halted)
		return 0;
	if (f->phase != SIMCP_PH_NONE) {
		if (!(f->cmd.flags & SIMCP_F_CHAIN) || f->ring_changed || r->head != f->head)
			return 0;
		at = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	} else {
		at = r->head;
	}
	room = s->np_bound > s->np_spent ? s->np_bound - s->np_spent : 0;
	/*
	 * Submitted commands of the section, read as the device would read
	 * them (they may still change: this is a hint).  Past the bound the
	 * device would fault, which ends the section.
	 */
	while (at != r->tail) {
		const uint8_t *p = vc_iommu_translate(s->iommu, r->ring_base + at,
						      SIMCP_CMD_SIZE, false);
		struct simcp_cmd c;
		vc_time_t cost;

		uint8_t raw[SIMCP_CMD_SIZE];

		if (!p)
			break;
		memcpy(raw, p, sizeof(raw));
		decode(&c, raw);
		if (!(c.flags & SIMCP_F_NOPREEMPT))
			break;
		cost = simcp_cmd_cost(s, &c);
		if (cost > room)
			break;
		rest += cost;
		room -= cost;
		if (!(c.flags & SIMCP_F_CHAIN))
			break;
		at = (at + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	}
	return rest;
}

void simcp_begin(struct simcp *s, vc_time_t start)
{
	struct simcp_regs *r = &s->live.r;
	struct simcp_inflight *f = &s->cur;
	vc_time_t cost;

	memset(f, 0, sizeof(*f));
	f->head = r->head;
	f->start = start;
	if (!ring_valid(r)) {
		set_fault(f, SIMCP_FAULT_BAD_RING, 0);
	} else {
		uint64_t addr = r->ring_base + r->head;
		const uint8_t *p = vc_iommu_translate(s->iommu, addr, SIMCP_CMD_SIZE, false);
		uint8_t raw[SIMCP_CMD_SIZE];

		if (p) {
			/* One read of the guest's ring; later writes don't matter. */
			memcpy(raw, p, sizeof(raw));
			decode(&f->cmd, raw);
			check_cmd(s, f);
		} else {
			set_fault(f, SIMCP_FAULT_DMA, addr);
		}
	}

	if (!f->fault)
		np_section(s, f);
	if (f->fault)
		cost = s->t.cmd_overhead_ns;
	else if (f->poll)
		cost = s->t.wait_poll_ns;
	else
		cost = simcp_cmd_cost(s, &f->cmd);
	if (!f->fault)
		scratch_written(s, &f->cmd);
	f->end = start + cost;
	f->phase = !f->fault && has_data_work(&f->cmd) ? SIMCP_PH_WORK : SIMCP_PH_TIMED;
}

bool simcp_wait_satisfied(const struct simcp *s)
{
	return dma_read64(s->cur.src) == s->cur.cmd.c;
}

/* ---- commands: data work --------------------------------------------- */

static void fill32(uint8_t *dst, uint64_t len, uint32_t pattern)
{
	uint8_t pat[256];

	/* The 32-bit pattern repeats in memory in little-endian order. */
	for (unsigned int i = 0; i < sizeof(pat); i += 4)
		put_le(pat + i, pattern, 4);
	while (len) {
		size_t n = len < sizeof(pat) ? (size_t)len : sizeof(pat);

		memcpy(dst, pat, n);
		dst += n;
		len -= n;
	}
}

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * COMPUTE: a chained mix over scratch[0, len) in 8-byte little-endian
 * words (a final partial word is zero-extended and written back partly):
 * h = 0x9e3779b97f4a7c15 ^ len; for each word w: h = mix64(h ^ w); w = h.
 */
static void compute(uint8_t *p, uint64_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;

	for (uint64_t i = 0; i < len; i += 8) {
		unsigned int n = len - i < 8 ? (unsigned int)(len - i) : 8;

		h = mix64(h ^ get_le(p + i, n));
		put_le(p + i, h, n);
	}
}

/* ---- AES ------------------------------------------------------------- */

int simcp_aes_init(struct simcp *s)
{
	static const char *const names[3] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };

	/*
	 * No cleanup of libcrypto at exit: a host may still destroy devices
	 * (and a device thread still run AES) while exit handlers run.
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	for (unsigned int i = 0; i < 3; i++) {
		s->aes[i] = EVP_CIPHER_fetch(NULL, names[i], NULL);
		if (!s->aes[i])
			goto out_none; /* no AES here: the device has no SIMCP_CAP_AES */
	}
	s->evp = EVP_CIPHER_CTX_new();
	if (!s->evp) {
		simcp_aes_fini(s);
		return -VC_ENOMEM;
	}
	return 0;

out_none:
	simcp_aes_fini(s);
	return 0;
}

void simcp_aes_fini(struct simcp *s)
{
	EVP_CIPHER_CTX_free(s->evp);
	s->evp = NULL;
	for (unsigned int i = 0; i < 3; i++) {
		EVP_CIPHER_free(s->aes[i]);
		s->aes[i] = NULL;
	}
}

/* A position in a list of segments. */
struct seg_cursor {
	const struct simcp_seg *seg;
	unsigned int i;
	uint64_t off;
};

/* Copy @n bytes from the segments at @c to @buf (@to_segs false) or back. */
static void seg_copy(struct seg_cursor *c, uint8_t *buf, size_t n, bool to_segs)
{
	while (n) {
		const struct simcp_seg *sg = &c->seg[c->i];
		size_t k = sg->len - c->off < n ? (size_t)(sg->len - c->off) : n;

		if (to_segs)
			memcpy(sg->p + c->off, buf, k);
		else
			memcpy(buf, sg->p + c->off, k);
		buf += k;
		n -= k;
		c->off += k;
		if (c->off == sg->len) {
			c->i++;
			c->off = 0;
		}
	}
}

/*
 * AES_CBC's data work: through the bounce buffer a chunk at a time, each
 * chunk read whole from the source before it is written to the
 * destination, so in-place requests (the same memory, segment for
 * segment) come out right for decryption too; the chaining value runs
 * on in the cipher context across chunks and segments.  Returns false
 * when libcrypto refused (then the destination is zeroed).
 */
static bool aes_cbc(struct simcp *s, const struct simcp_inflight *f)
{
	const struct simcp_cmd *c = &f->cmd;
	const struct simcp_keyslot *k = &s->live.keys[c->arg & SIMCP_ARG_SLOT_MASK];
	struct seg_cursor in = { .seg = s->seg[0] }, out = { .seg = s->seg[1] };
	int enc = !(c->arg & SIMCP_AES_DECRYPT), n = 0;
	uint8_t iv[SIMCP_AES_BLOCK];
	uint64_t left = c->len;
	bool ok;

	memcpy(iv, f->iv, sizeof(iv)); /* one read of the guest's IV */
	ok = EVP_CipherInit_ex(s->evp, s->aes[(k->len - 16) / 8], NULL, k->key, iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(s->evp, 0) == 1;
	while (ok && left) {
		size_t chunk = left < SIMCP_AES_CHUNK ? (size_t)left : SIMCP_AES_CHUNK;

		seg_copy(&in, s->aes_buf, chunk, false);
		ok = EVP_CipherUpdate(s->evp, s->aes_buf, &n, s->aes_buf, (int)chunk) == 1 &&
		     n == (int)chunk;
		if (ok)
			seg_copy(&out, s->aes_buf, chunk, true);
		left -= chunk;
	}
	/* Leave no key schedule, chaining value or data behind. */
	EVP_CIPHER_CTX_reset(s->evp);
	simcp_scrub(s->aes_buf, sizeof(s->aes_buf));
	simcp_scrub(iv, sizeof(iv));
	if (!ok)
		for (unsigned int i = 0; i < f->nr_seg[1]; i++)
			memset(s->seg[1][i].p, 0, s->seg[1][i].len);
	return ok;
}

void simcp_work(struct simcp *s)
{
	struct simcp_inflight *f = &s->cur;
	const struct simcp_cmd *c = &f->cmd;
	uint8_t *scratch = s->live.scratch; /* pages marked dirty at begin */

	switch (c->op) {
	case SIMCP_OP_COPY:
		/* Distinct guest ranges may still share host memory. */
		memmove(f->dst, f->src, c->len);
		break;
	case SIMCP_OP_FILL:
		fill32(f->dst, c->len, (uint32_t)c->c);
		break;
	case SIMCP_OP_HASH:
		if (c->arg == SIMCP_HASH_CRC32C) {
			uint8_t crc[4];

			put_le(crc, simcp_crc32c(0, f->src, c->len), 4);
			memcpy(f->dst, crc, sizeof(crc));
		} else {
			uint8_t digest[SIMCP_SHA256_DIGEST];

			simcp_sha256(c->len ? f->src : digest, c->len, digest);
			memcpy(f->dst, digest, sizeof(digest));
		}
		break;
	case SIMCP_OP_LOAD:
		memcpy(scratch + c->b, f->src, c->len);
		break;
	case SIMCP_OP_STORE:
		memcpy(f->dst, scratch + c->a, c->len);
		break;
	case SIMCP_OP_COMPUTE:
		compute(scratch, c->len);
		break;
	case SIMCP_OP_KEY: {
		struct simcp_keyslot *k = &s->live.keys[c->arg & SIMCP_ARG_SLOT_MASK];

		simcp_scrub(k, sizeof(*k));
		if (!(c->arg & SIMCP_KEY_CLEAR)) {
			memcpy(k->key, f->src, c->len);
			k->len = c->len;
		}
		break;
	}
	case SIMCP_OP_AES_CBC:
		if (!aes_cbc(s, f)) {
			/* The device failed, not the command: nothing usable was written. */
			f->fault = SIMCP_FAULT_BAD_CMD;
			f->fault_addr = 0;
		}
		break;
	default:
		break;
	}
}

/* ---- commands: retirement -------------------------------------------- */

void simcp_retire(struct simcp *s)
{
	struct simcp_inflight *f = &s->cur;
	struct simcp_regs *r = &s->live.r;
	uint32_t tag = s->owner->tag;
	bool advance = !f->ring_changed && r->head == f->head;

	f->phase = SIMCP_PH_NONE;
	s->stats.busy_ns += f->end - f->start;
	if (f->fault) {
		r->fault_code = f->fault;
		r->fault_addr = f->fault_addr;
		r->fault_head = f->head;
		r->halted = true;
		/* Skip the faulting command; a bad ring has no command to skip. */
		if (advance && f->fault != SIMCP_FAULT_BAD_RING)
			r->head = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
		s->stats.faults++;
		simcp_raise(s, &s->live, tag, SIMCP_IRQ_ERROR);
		return;
	}

	if (f->cmd.op == SIMCP_OP_FENCE) {
		r->fence = f->cmd.a;
		if (f->dst)
			dma_write64(f->dst, f->cmd.a);
	}
	if (advance)
		r->head = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	r->cmds_done++;
	s->live.completed++;
	s->stats.cmds++;
	if (f->cmd.op == SIMCP_OP_FENCE && (f->cmd.flags & SIMCP_F_IRQ))
		simcp_raise(s, &s->live, tag, SIMCP_IRQ_FENCE);
}
