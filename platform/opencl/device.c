// SPDX-License-Identifier: MIT
/*
 * DOC: OpenCL platform - registers, command fetch and checks, retirement
 *
 * The part of the device a driver sees, as simcp_hw.h and docs/simcp.md
 * define it: the register file of a context (live or saved), the ring
 * fetch, the checks of every command before anything moves (ring
 * registers, flags, lengths, scratch ranges, key slots, and every DMA
 * range translated whole through the running domain's IOMMU context),
 * the forming of AES_CBC batches, and retirement (HEAD, FENCE, faults,
 * interrupts, counters).  engine.c decides when these run and executes
 * the commands on the OpenCL device.
 *
 * Locking: oclcp_priv.h.  Functions here run with s->lock held.
 */
#include <string.h>

#include "oclcp_priv.h"

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

void oclcp_scrub(void *p, size_t len)
{
	memset(p, 0, len);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

bool oclcp_page_dirty(const struct oclcp_state *st, unsigned int p)
{
	return st->dirty[p / 64] >> (p % 64) & 1;
}

void oclcp_mark_dirty(struct oclcp_state *st, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t p = off >> OCLCP_PAGE_SHIFT; p <= (off + len - 1) >> OCLCP_PAGE_SHIFT; p++)
		st->dirty[p / 64] |= 1ull << (p % 64);
}

bool oclcp_state_has_work(const struct oclcp_state *st)
{
	const struct oclcp_regs *r = &st->r;

	return (r->control & SIMCP_CTRL_ENABLE) && !r->halted && r->head != r->tail;
}

void oclcp_queue_event(struct oclcp *s, uint32_t tag, enum vc_event ev)
{
	for (unsigned int i = 0; i < s->nr_ev; i++)
		if (s->evq[i].tag == tag && s->evq[i].ev == ev)
			return;
	if (s->nr_ev == OCLCP_EVQ_LEN) {
		s->stats.events_dropped++;
		return;
	}
	s->evq[s->nr_ev++] = (struct oclcp_event){ .tag = tag, .ev = ev };
}

void oclcp_raise(struct oclcp *s, struct oclcp_state *st, uint32_t tag, uint32_t bits)
{
	struct oclcp_regs *r = &st->r;
	uint32_t before = r->irq_status & r->irq_mask;

	r->irq_status |= bits;
	if ((r->irq_status & r->irq_mask) & ~before)
		oclcp_queue_event(s, tag, VC_EV_IRQ);
}

void oclcp_hang_reset(struct oclcp_state *st)
{
	struct oclcp_regs *r = &st->r;

	r->fault_code = SIMCP_FAULT_HANG;
	r->fault_addr = 0;
	r->fault_head = r->head;
	r->head = r->tail;
	r->halted = true;
	/* Pending without an event: the framework raises the interrupt itself. */
	r->irq_status |= SIMCP_IRQ_ERROR;
}

/* ---- fetch and checks ------------------------------------------------ */

static bool ring_valid(const struct oclcp_regs *r)
{
	uint32_t size = r->ring_size;

	if (size < 64 || size > (1u << 20) || (size & (size - 1)))
		return false;
	if ((r->ring_base & (SIMCP_CMD_SIZE - 1)) || r->ring_base > UINT64_MAX - size)
		return false;
	return r->head < size && r->tail < size &&
	       !(r->head & (SIMCP_CMD_SIZE - 1)) && !(r->tail & (SIMCP_CMD_SIZE - 1));
}

/* Read the command at ring offset @at once; false when the slot faults. */
static bool fetch(struct oclcp *s, uint32_t at, struct simcp_cmd *c)
{
	const struct oclcp_regs *r = &s->live.r;
	const uint8_t *p = vc_iommu_translate(s->iommu, r->ring_base + at, SIMCP_CMD_SIZE, false);
	uint8_t raw[SIMCP_CMD_SIZE];

	if (!p)
		return false;
	memcpy(raw, p, sizeof(raw));
	c->op = raw[0];
	c->flags = raw[1];
	c->arg = (uint16_t)get_le(raw + 2, 2);
	c->len = (uint32_t)get_le(raw + 4, 4);
	c->a = get_le(raw + 8, 8);
	c->b = get_le(raw + 16, 8);
	c->c = get_le(raw + 24, 8);
	return true;
}

/* The result of checking one command. */
struct chk {
	uint32_t fault;
	uint64_t addr;
	bool hazard;    /* valid, but reads what an earlier command of the batch writes */
};

static void chk_fail(struct chk *k, uint32_t code, uint64_t addr)
{
	if (!k->fault) {
		k->fault = code;
		k->addr = addr;
	}
}

static void *xlate(struct oclcp *s, struct chk *k, uint64_t gpa, uint64_t len, bool write)
{
	void *p;

	if (!len || k->fault)
		return NULL;
	p = vc_iommu_translate(s->iommu, gpa, len, write);
	if (!p)
		chk_fail(k, SIMCP_FAULT_DMA, gpa);
	return p;
}

static bool host_overlap(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Does [@p, +@len) overlap a destination of the batch's first @nreq requests? */
static bool batch_writes(const struct oclcp *s, unsigned int nreq, const uint8_t *p, uint64_t len)
{
	for (unsigned int r = 0; r < nreq; r++)
		for (unsigned int i = 0; i < s->req[r].nseg[1]; i++) {
			const struct oclcp_seg *g = &s->seg[1][s->req[r].seg0[1] + i];

			if (host_overlap(p, len, g->p, g->len))
				return true;
		}
	return false;
}

static bool scratch_ok(const struct oclcp *s, uint64_t off, uint64_t len)
{
	return off <= s->ctx_size && len <= s->ctx_size - off;
}

static bool gpa_overlap(uint64_t a, uint64_t b, uint64_t len)
{
	return a < b ? b - a < len : a - b < len;
}

/*
 * One side of an AES_CBC request (@side 0 source, 1 destination) into
 * s->seg[@side] from s->nr_seg[@side]: a contiguous range, or the SG table
 * at @addr read entry by entry (each entry once).  Reads of a request that
 * is not the batch's first are checked against the batch's writes.
 */
static unsigned int aes_side(struct oclcp *s, struct chk *k, unsigned int nreq, uint64_t addr,
			     uint64_t len, bool sg, int side)
{
	struct oclcp_seg *seg = &s->seg[side][s->nr_seg[side]];
	unsigned int room = (unsigned int)VC_ARRAY_SIZE(s->seg[side]) - s->nr_seg[side], n = 0;
	bool write = side == 1;
	uint64_t left = len;

	if (!sg) {
		if (!room) {
			k->hazard = true;
			return 0;
		}
		seg->p = xlate(s, k, addr, len, write);
		seg->len = len;
		if (seg->p && !write && nreq && batch_writes(s, nreq, seg->p, len))
			k->hazard = true;
		return seg->p ? 1 : 0;
	}
	if ((addr & (SIMCP_SG_ENTRY_SIZE - 1)) ||
	    addr > UINT64_MAX - (uint64_t)SIMCP_SG_MAX_ENTRIES * SIMCP_SG_ENTRY_SIZE) {
		chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
		return 0;
	}
	for (unsigned int i = 0; left; i++) {
		uint8_t e[SIMCP_SG_ENTRY_SIZE];
		const uint8_t *p;
		uint64_t ea;
		uint32_t elen;

		if (i == SIMCP_SG_MAX_ENTRIES) {
			chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
			return 0;
		}
		p = xlate(s, k, addr + (uint64_t)i * SIMCP_SG_ENTRY_SIZE, SIMCP_SG_ENTRY_SIZE, false);
		if (!p)
			return 0;
		if (nreq && batch_writes(s, nreq, p, SIMCP_SG_ENTRY_SIZE))
			k->hazard = true;
		memcpy(e, p, sizeof(e));
		ea = get_le(e, 8);
		elen = (uint32_t)get_le(e + 8, 4);
		if (get_le(e + 12, 4) || elen > left) {
			chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
			return 0;
		}
		if (!elen)
			continue;
		if (n == room) {
			/* No room left in this batch: the request goes in the next. */
			k->hazard = true;
			return 0;
		}
		seg[n].p = xlate(s, k, ea, elen, write);
		if (!seg[n].p)
			return 0;
		seg[n].len = elen;
		if (!write && nreq && batch_writes(s, nreq, seg[n].p, elen))
			k->hazard = true;
		n++;
		left -= elen;
	}
	return n;
}

/* AES_CBC as request @nreq of the batch: everything checked, nothing moved. */
static void check_aes(struct oclcp *s, struct chk *k, unsigned int nreq, const struct simcp_cmd *c)
{
	struct oclcp_req *q = &s->req[nreq];
	uint16_t arg = c->arg;
	const uint8_t *iv;

	if ((arg & ~(SIMCP_ARG_SLOT_MASK | SIMCP_AES_DECRYPT | SIMCP_AES_SG)) ||
	    c->len > SIMCP_MAX_LEN || c->len % SIMCP_AES_BLOCK ||
	    !s->live.key_len[arg & SIMCP_ARG_SLOT_MASK]) {
		chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
		return;
	}
	q->nseg[0] = q->nseg[1] = 0;
	q->seg0[0] = s->nr_seg[0];
	q->seg0[1] = s->nr_seg[1];
	if (!c->len)
		return;
	if (!(arg & SIMCP_AES_SG) && c->a != c->b && gpa_overlap(c->a, c->b, c->len)) {
		chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
		return;
	}
	iv = xlate(s, k, c->c, SIMCP_AES_BLOCK, false);
	if (!iv)
		return;
	if (nreq && batch_writes(s, nreq, iv, SIMCP_AES_BLOCK))
		k->hazard = true;
	memcpy(q->iv, iv, SIMCP_AES_BLOCK); /* one read of the guest's IV */
	q->nseg[0] = aes_side(s, k, nreq, c->a, c->len, arg & SIMCP_AES_SG_SRC, 0);
	if (k->fault || k->hazard)
		return;
	s->nr_seg[0] += q->nseg[0];
	q->nseg[1] = aes_side(s, k, nreq, c->b, c->len, arg & SIMCP_AES_SG_DST, 1);
	if (k->fault || k->hazard) {
		s->nr_seg[0] -= q->nseg[0];
		return;
	}
	s->nr_seg[1] += q->nseg[1];
}

/* Every operand of @c checked, every DMA range translated (not AES_CBC). */
static void check_cmd(struct oclcp *s, struct chk *k, const struct simcp_cmd *c,
		      const uint8_t **src, uint8_t **dst)
{
	uint64_t len = c->len;

	if (c->flags & ~(SIMCP_F_IRQ | SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN))
		goto bad;
	switch (c->op) {
	case SIMCP_OP_NOP:
		return;
	case SIMCP_OP_FENCE:
		if (c->b)
			*dst = xlate(s, k, c->b, 8, true);
		return;
	case SIMCP_OP_COPY:
		if (len > SIMCP_MAX_LEN || (len && gpa_overlap(c->a, c->b, len)))
			goto bad;
		*src = xlate(s, k, c->a, len, false);
		*dst = xlate(s, k, c->b, len, true);
		return;
	case SIMCP_OP_FILL:
		if (len > SIMCP_MAX_LEN)
			goto bad;
		*dst = xlate(s, k, c->b, len, true);
		return;
	case SIMCP_OP_HASH:
		if (len > SIMCP_MAX_LEN ||
		    (c->arg != SIMCP_HASH_CRC32C && c->arg != SIMCP_HASH_SHA256))
			goto bad;
		*src = xlate(s, k, c->a, len, false);
		*dst = xlate(s, k, c->b, c->arg == SIMCP_HASH_CRC32C ? 4 : 32, true);
		return;
	case SIMCP_OP_LOAD:
		if (len > SIMCP_MAX_LEN || !scratch_ok(s, c->b, len))
			goto bad;
		*src = xlate(s, k, c->a, len, false);
		return;
	case SIMCP_OP_STORE:
		if (len > SIMCP_MAX_LEN || !scratch_ok(s, c->a, len))
			goto bad;
		*dst = xlate(s, k, c->b, len, true);
		return;
	case SIMCP_OP_COMPUTE:
		if (len > s->ctx_size || c->a > SIMCP_MAX_COMPUTE_NS)
			goto bad;
		return;
	case SIMCP_OP_WAIT:
		*src = xlate(s, k, c->a, 8, false);
		return;
	case SIMCP_OP_KEY:
		if (c->arg & ~(SIMCP_ARG_SLOT_MASK | SIMCP_KEY_CLEAR))
			goto bad;
		if (c->arg & SIMCP_KEY_CLEAR) {
			if (len)
				goto bad;
			return;
		}
		if (len != 16 && len != 24 && len != 32)
			goto bad;
		*src = xlate(s, k, c->a, len, false);
		return;
	default:
		goto bad;
	}
bad:
	chk_fail(k, SIMCP_FAULT_BAD_CMD, 0);
}

/*
 * The bound on non-preemptible sections, by expected time: a flagged
 * command opens a section or continues one after SIMCP_F_CHAIN; one that
 * would take it past s->np_bound faults instead.  Returns the fault or 0.
 */
static uint32_t np_section(struct oclcp *s, const struct simcp_cmd *c)
{
	vc_time_t spent = s->np_open ? s->np_spent : 0;
	vc_time_t cost = oclcp_expected_ns(s, c);

	if (!(c->flags & SIMCP_F_NOPREEMPT)) {
		s->np_open = false;
		return 0;
	}
	if (cost > s->np_bound || spent > s->np_bound - cost) {
		s->np_open = false;
		return SIMCP_FAULT_NONPREEMPT;
	}
	s->np_open = true;
	s->np_spent = spent + cost;
	return 0;
}

vc_time_t oclcp_np_rest(struct oclcp *s)
{
	const struct oclcp_regs *r = &s->live.r;
	const struct oclcp_inflight *f = &s->cur;
	vc_time_t rest = 0;
	uint32_t at;

	if (!ring_valid(r) || r->halted)
		return 0;
	if (f->phase != OCLCP_PH_NONE) {
		if (!(f->cmd.flags & SIMCP_F_NOPREEMPT) || !(f->cmd.flags & SIMCP_F_CHAIN) ||
		    f->ring_changed || r->head != f->head)
			return 0;
		at = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	} else {
		at = r->head;
	}
	/* The section's submitted commands, read as a hint. */
	for (unsigned int n = 0; at != r->tail && n < r->ring_size / SIMCP_CMD_SIZE; n++) {
		struct simcp_cmd c;

		if (!fetch(s, at, &c) || !(c.flags & SIMCP_F_NOPREEMPT))
			break;
		rest += oclcp_expected_ns(s, &c);
		if (!(c.flags & SIMCP_F_CHAIN))
			break;
		at = (at + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	}
	return rest;
}

/* AES_CBC commands after the first that can join its batch. */
static void extend_batch(struct oclcp *s, uint64_t off)
{
	struct oclcp_regs *r = &s->live.r;
	struct oclcp_inflight *f = &s->cur;
	uint32_t at = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	bool dec = f->cmd.arg & SIMCP_AES_DECRYPT;

	while (f->nreq < OCLCP_BATCH_MAX && at != r->tail) {
		struct oclcp_req *q = &s->req[f->nreq];
		struct chk k = { 0 };
		struct simcp_cmd c;

		if (!fetch(s, at, &c) || c.op != SIMCP_OP_AES_CBC || c.flags ||
		    !!(c.arg & SIMCP_AES_DECRYPT) != dec || !c.len ||
		    c.len > OCLCP_STAGE_BYTES - off)
			break;
		check_aes(s, &k, f->nreq, &c);
		if (k.fault || k.hazard)
			break;
		q->cmd = c;
		q->head = at;
		q->off = off;
		off += c.len;
		f->nreq++;
		at = (at + SIMCP_CMD_SIZE) & (r->ring_size - 1);
	}
}

void oclcp_begin(struct oclcp *s, vc_time_t now)
{
	struct oclcp_regs *r = &s->live.r;
	struct oclcp_inflight *f = &s->cur;
	struct chk k = { 0 };

	memset(f, 0, sizeof(*f));
	f->head = r->head;
	f->start = now;
	f->nreq = 1;
	s->nr_seg[0] = s->nr_seg[1] = 0;
	if (!ring_valid(r)) {
		chk_fail(&k, SIMCP_FAULT_BAD_RING, 0);
	} else if (!fetch(s, r->head, &f->cmd)) {
		chk_fail(&k, SIMCP_FAULT_DMA, r->ring_base + r->head);
	} else if (f->cmd.op == SIMCP_OP_AES_CBC) {
		if (f->cmd.flags & ~(SIMCP_F_IRQ | SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN))
			chk_fail(&k, SIMCP_FAULT_BAD_CMD, 0);
		else
			check_aes(s, &k, 0, &f->cmd);
		s->req[0].cmd = f->cmd;
		s->req[0].head = f->head;
		s->req[0].off = 0;
	} else {
		check_cmd(s, &k, &f->cmd, &f->src, &f->dst);
	}
	if (!k.fault)
		k.fault = np_section(s, &f->cmd);
	if (k.fault) {
		f->fault = k.fault;
		f->fault_addr = k.addr;
		f->src = NULL;
		f->dst = NULL;
		return;
	}
	if (f->cmd.op == SIMCP_OP_AES_CBC && !f->cmd.flags && f->cmd.len)
		extend_batch(s, (f->cmd.len + 4095) & ~4095ull);
	if (f->cmd.op == SIMCP_OP_LOAD)
		oclcp_mark_dirty(&s->live, f->cmd.b, f->cmd.len);
	else if (f->cmd.op == SIMCP_OP_COMPUTE)
		oclcp_mark_dirty(&s->live, 0, f->cmd.len);
	f->expected_end = now;
	for (unsigned int i = 0; i < f->nreq; i++)
		f->expected_end += oclcp_expected_ns(s, f->cmd.op == SIMCP_OP_AES_CBC ?
						     &s->req[i].cmd : &f->cmd);
}

bool oclcp_wait_satisfied(const struct oclcp *s)
{
	const uint8_t *p = s->cur.src;
	uint64_t v;

	if (!((uintptr_t)p & 7))
		v = __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
	else
		v = get_le(p, 8);
	return v == s->cur.cmd.c;
}

void oclcp_retire(struct oclcp *s)
{
	struct oclcp_inflight *f = &s->cur;
	struct oclcp_regs *r = &s->live.r;
	uint32_t tag = s->owner->tag;
	bool advance = !f->ring_changed && r->head == f->head;

	f->phase = OCLCP_PH_NONE;
	if (f->fault) {
		r->fault_code = f->fault;
		r->fault_addr = f->fault_addr;
		r->fault_head = f->head;
		r->halted = true;
		if (advance && f->fault != SIMCP_FAULT_BAD_RING)
			r->head = (f->head + SIMCP_CMD_SIZE) & (r->ring_size - 1);
		s->stats.faults++;
		s->np_open = false;
		oclcp_raise(s, &s->live, tag, SIMCP_IRQ_ERROR);
		return;
	}
	if (f->cmd.op == SIMCP_OP_FENCE) {
		r->fence = f->cmd.a;
		if (f->dst) {
			uint8_t b[8];

			put_le(b, f->cmd.a, 8);
			if (!((uintptr_t)f->dst & 7))
				__atomic_store_n((uint64_t *)(void *)f->dst, get_le(b, 8),
						 __ATOMIC_RELEASE);
			else
				memcpy(f->dst, b, 8);
		}
	}
	if (f->cmd.op == SIMCP_OP_KEY)
		s->live.key_len[f->cmd.arg & SIMCP_ARG_SLOT_MASK] =
			f->cmd.arg & SIMCP_KEY_CLEAR ? 0 : (uint8_t)f->cmd.len;
	if (advance)
		r->head = (f->head + f->nreq * SIMCP_CMD_SIZE) & (r->ring_size - 1);
	r->cmds_done += f->nreq;
	s->live.completed += f->nreq;
	s->stats.cmds += f->nreq;
	if (f->nreq > 1) {
		s->stats.batches++;
		s->stats.batched_reqs += f->nreq;
	}
	if (f->cmd.op == SIMCP_OP_FENCE && (f->cmd.flags & SIMCP_F_IRQ))
		oclcp_raise(s, &s->live, tag, SIMCP_IRQ_FENCE);
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

static bool access_ok(uint64_t off, unsigned int size)
{
	if (size == 4)
		return reg_exists(off);
	return size == 8 && (off == SIMCP_REG_RING_BASE_LO || off == SIMCP_REG_FENCE_LO ||
			     off == SIMCP_REG_FAULT_ADDR_LO);
}

static uint32_t reg_read(const struct oclcp *s, const struct oclcp_state *st, bool live,
			 uint64_t off)
{
	const struct oclcp_regs *r = &st->r;
	uint32_t v;

	switch (off) {
	case SIMCP_REG_ID:           return SIMCP_ID_VALUE;
	case SIMCP_REG_VERSION:      return SIMCP_VERSION_VALUE;
	case SIMCP_REG_CAPS:
		return SIMCP_CAP_CRC32C | SIMCP_CAP_SHA256 | SIMCP_CAP_NOPREEMPT | SIMCP_CAP_AES;
	case SIMCP_REG_SCRATCH_SIZE: return s->ctx_size;
	case SIMCP_REG_CONTROL:      return r->control;
	case SIMCP_REG_STATUS:
		v = 0;
		if ((live && s->cur.phase != OCLCP_PH_NONE) || oclcp_state_has_work(st))
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
	default:                     return 0;
	}
}

static void ring_reprogrammed(struct oclcp *s, struct oclcp_regs *r, bool live)
{
	r->head = 0;
	r->tail = 0;
	if (live && s->cur.phase != OCLCP_PH_NONE)
		s->cur.ring_changed = true;
}

/*
 * CONTROL.RESET: registers, key slots and scratch back to zero, on the
 * device buffers that hold them (live: the command in flight is dropped,
 * a kernel abandoned).  The progress count is not device state.
 */
static void ctl_reset(struct oclcp *s, struct oclcp_ctx *x, struct oclcp_state *st, bool live)
{
	uint64_t completed = st->completed;

	if (live) {
		oclcp_abandon(s);
		(void)oclcp_cl_zero(s, oclcp_cur_scratch(s), 0, s->ctx_size);
		(void)oclcp_cl_zero(s, oclcp_cur_keys(s), 0, OCLCP_KEYS_BYTES);
	} else if (x->resident) {
		(void)oclcp_cl_zero(s, x->scratch, 0, s->ctx_size);
		(void)oclcp_cl_zero(s, x->keys, 0, OCLCP_KEYS_BYTES);
	} else {
		oclcp_scrub(x->shadow, s->ctx_size + OCLCP_KEYS_BYTES);
	}
	oclcp_scrub(st, sizeof(*st));
	st->completed = completed;
}

static bool reg_write(struct oclcp *s, struct oclcp_ctx *x, struct oclcp_state *st, bool live,
		      uint64_t off, uint32_t v)
{
	struct oclcp_regs *r = &st->r;
	uint32_t before;

	switch (off) {
	case SIMCP_REG_CONTROL:
		if (v & SIMCP_CTRL_RESET)
			ctl_reset(s, x, st, live);
		r->control = v & SIMCP_CTRL_ENABLE;
		if (v & SIMCP_CTRL_RESUME) {
			r->halted = false;
			r->fault_code = SIMCP_FAULT_NONE;
			r->fault_addr = 0;
			r->fault_head = 0;
		}
		return oclcp_state_has_work(st);
	case SIMCP_REG_IRQ_MASK:
		before = r->irq_status & r->irq_mask;
		r->irq_mask = v & (SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
		if ((r->irq_status & r->irq_mask) & ~before)
			oclcp_queue_event(s, x->tag, VC_EV_IRQ);
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
		r->tail = v;
		return true;
	default:
		return false;
	}
}

enum vc_io oclcp_mmio(struct oclcp_ctx *x, uint64_t off, unsigned int size, bool write,
		      uint64_t *val)
{
	struct oclcp *s = x->dev;
	struct oclcp_state *st;
	enum vc_io ret = VC_IO_OK;
	unsigned int nr_ev;
	bool live, work;

	if (!access_ok(off, size)) {
		if (!write)
			*val = ~0ull;
		return VC_IO_BAD;
	}
	pthread_mutex_lock(&s->lock);
	if (write && off == SIMCP_REG_CONTROL && (*val & SIMCP_CTRL_RESET))
		oclcp_wait_phase(s);
	nr_ev = s->nr_ev;
	live = s->loaded && s->owner == x;
	st = live ? &s->live : &x->st;
	if (!write) {
		*val = reg_read(s, st, live, off);
		if (size == 8)
			*val |= (uint64_t)reg_read(s, st, live, off + 4) << 32;
	} else {
		work = reg_write(s, x, st, live, off, (uint32_t)*val);
		if (size == 8)
			work |= reg_write(s, x, st, live, off + 4, (uint32_t)(*val >> 32));
		if (work || off == SIMCP_REG_RING_TAIL)
			ret = VC_IO_WORK;
	}
	if ((live && write) || s->nr_ev != nr_ev)
		oclcp_kick(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
