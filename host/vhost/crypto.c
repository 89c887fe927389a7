// SPDX-License-Identifier: MIT
/*
 * DOC: the vhost-user kind of domain - a virtio-crypto device for a guest
 * in another VMM
 *
 * A vhost-user domain is a guest that runs in another VMM (QEMU, with KVM
 * or without) and keeps its own kernel driver for a function - here
 * Linux's virtio_crypto.  Its requests travel over a virtqueue; its data
 * stays in the buffers the guest allocated, and the coprocessor reads and
 * writes them there, through the domain's IOMMU context, which is built
 * from the vhost-user memory table.  vcoprocd is the driver domain: this
 * file is the device's backend (over the vhost/ library, on the host's
 * event loop) and, at the same time, the native driver of the domain's
 * own vcoproc context (driver/simcp through vc_domain_mmio(), as a guest
 * kernel would), so the scheduler, refusals, hang reset, interrupt
 * routing, statistics and traces are the same as for a KVM domain, and
 * both kinds share one coprocessor.
 *
 *   guest AF_ALG -> virtio_crypto -> virtqueue -> kick eventfd -> loop
 *     -> cr_run(): pop, check, build SG tables of guest-physical segments
 *     -> KEY (if the session's key is not in a slot) + AES_CBC + FENCE(irq)
 *        on the domain's vcoproc context (simcp_drv, vc_domain_mmio())
 *   device: DMA from/to the guest's buffers through the domain's IOMMU
 *     context -> fence interrupt -> framework -> irq_raise -> eventfd -> loop
 *     -> cr_complete(): status byte, used ring, call eventfd
 *
 * Memory.  The domain's IOMMU context is the guest's memory table (gpa ->
 * the mapping of the frontend's fds) plus the driver's own memory at
 * CR_DRV_GPA: the command ring, per-request IVs and SG tables, key
 * staging.  The guest cannot reach the driver's memory (it is not in its
 * table); the device cannot reach anything else.  The context changes
 * only while no command of this domain is in flight (mem_changed and
 * disconnected drain or reset first), so the device never translates
 * through a changing table.
 *
 * Sessions are per domain: CREATE_CRYPTO_SESSION keeps the key in the
 * device's table of this domain; a request names a session by id, looked
 * up in that table only, so another domain's ids mean nothing here.  Keys
 * go to the domain's context key slots (16, least recently used first)
 * when a request needs them: they live in the device context, saved and
 * restored with it, and are cleared from the slot and scrubbed from host
 * memory when the session closes or the frontend goes (a device reset
 * scrubs every slot).
 *
 * What a guest may send, and how it ends: a bad chain (vhost/virtq.h) is
 * completed with nothing written; a header that is short, an opcode or
 * algorithm other than AES-CBC cipher, lengths that do not add up (src !=
 * dst, not a multiple of 16, an IV other than 16 bytes, more than the
 * device takes in one command, more segments than an SG table holds)
 * get VIRTIO_CRYPTO_BADMSG or NOTSUPP; an unknown session INVSESS; a
 * device fault or a hang reset ERR for every request in flight.  None of
 * it reaches another domain.
 *
 * Threads: everything runs on the host's loop thread, but irq_raise
 * (device thread, coproc lock held), which only writes an eventfd.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hw/simcp_hw.h>
#include <vcoproc/errno.h>

#include "host.h"
#include "simcp_drv.h"
#include "vhost_user.h"

/* virtio-crypto (virtio 1.2, 5.9). */
#define VC_CRYPTO_SERVICE_CIPHER   0
#define VC_CRYPTO_CIPHER_AES_CBC   3
#define VC_CRYPTO_SYM_OP_CIPHER    1
#define VC_CRYPTO_OP_ENCRYPT       1
#define VC_CRYPTO_OP_DECRYPT       2
#define VC_CRYPTO_CIPHER_ENCRYPT   0   /* opcode: service CIPHER << 8 | 0 */
#define VC_CRYPTO_CIPHER_DECRYPT   1
#define VC_CRYPTO_OK      0
#define VC_CRYPTO_ERR     1
#define VC_CRYPTO_BADMSG  2
#define VC_CRYPTO_NOTSUPP 3
#define VC_CRYPTO_INVSESS 4
#define VC_CRYPTO_S_HW_READY 1
#define VC_CRYPTO_HDR_LEN 72   /* op header + sym data, as Linux sends it */

/* The driver's memory, in the domain's IOMMU context only. */
#define CR_DRV_GPA      (1ull << 56)
#define CR_RING_SIZE    (64u * 1024u)
#define CR_INFLIGHT     16u     /* <= SIMCP_KEY_SLOTS: a free slot always exists */
#define CR_KEY_OFF      CR_RING_SIZE
#define CR_KEY_STRIDE   32u
#define CR_REQ_OFF      (CR_KEY_OFF + SIMCP_KEY_SLOTS * CR_KEY_STRIDE)
#define CR_SG_BYTES     (SIMCP_SG_MAX_ENTRIES * sizeof(struct simcp_sg_entry))
#define CR_REQ_STRIDE   (64u + 2u * (uint32_t)CR_SG_BYTES)  /* IV, src table, dst table */
#define CR_DRV_SIZE     (CR_REQ_OFF + CR_INFLIGHT * CR_REQ_STRIDE)
#define CR_MAX_SESSIONS 256u
#define CR_MAX_SEGS     (2u * SIMCP_SG_MAX_ENTRIES + 8u)
#define CR_LAT_SAMPLES  4096u

struct cr_session {
	bool used;
	bool closing;                 /* closed by the frontend; requests still hold it */
	uint64_t id;
	uint8_t key[32];
	uint32_t key_len;
	int slot;                     /* key slot holding the key, -1 none */
	unsigned int busy;            /* requests in flight with it */
};

struct cr_req {
	bool used;
	uint64_t t_pop, t_queued;     /* host clock: popped, handed to the device */
	struct vu_elem elem;
	struct vu_seg segs[CR_MAX_SEGS];
	uint64_t fence;
	uint8_t *status;              /* the status byte in guest memory */
	uint32_t len;                 /* used length when done */
	struct cr_session *sess;
	unsigned int idx;             /* its area in the driver's memory */
};

struct cr_dev {
	struct dom *d;
	struct vu_dev vu;
	char socket[DOMCFG_PATH_MAX];
	bool started;

	/* The domain's vcoproc, and the driver of its context. */
	struct vc_vcoproc *vv;
	uint64_t win;                 /* its register window */
	uint32_t irq;
	struct simcp_drv drv;
	bool drv_ok;
	int irq_fd;                   /* eventfd: irq_raise -> loop */

	/* The driver's memory and the IOMMU context (d->iommu points here). */
	uint8_t *dmem;
	struct vc_iommu_region regions[VU_MAX_MEM_REGIONS + 1];

	struct cr_session sess[CR_MAX_SESSIONS];
	uint64_t next_sid;
	int slot_sess[SIMCP_KEY_SLOTS];   /* session index in each slot, -1 none */
	uint64_t slot_tick[SIMCP_KEY_SLOTS];
	uint64_t tick;

	struct cr_req req[CR_INFLIGHT];
	unsigned int inflight;
	struct cr_req *order[CR_INFLIGHT];  /* in flight, oldest first */

	/* Counters, for the console and tests. */
	uint64_t done, failed, bad_chains;
	/*
	 * What the backend itself adds to a request, host side: from pop to
	 * the doorbell, plus from seeing its completion to the used entry
	 * (ns; the last CR_LAT_SAMPLES requests), and the device's part in
	 * between (scheduling included).
	 */
	uint32_t lat_backend[CR_LAT_SAMPLES], lat_device[CR_LAT_SAMPLES];
	uint64_t nr_lat;
};

/* ---- the driver's bus: the domain's register window through the framework ---- */

static uint32_t bus_read32(void *opaque, uint32_t off)
{
	struct cr_dev *c = opaque;
	uint64_t v = ~0ull;

	atomic_fetch_add_explicit(&c->d->count.mmio, 1, memory_order_relaxed);
	(void)vc_domain_mmio(c->d->vd, c->win + off, 4, false, &v);
	return (uint32_t)v;
}

static void bus_write32(void *opaque, uint32_t off, uint32_t val)
{
	struct cr_dev *c = opaque;
	uint64_t v = val;

	atomic_fetch_add_explicit(&c->d->count.mmio, 1, memory_order_relaxed);
	(void)vc_domain_mmio(c->d->vd, c->win + off, 4, true, &v);
}

/* ---- the IOMMU context ------------------------------------------------------------ */

/*
 * The driver's memory, then the guest's table (none while no frontend).
 * A guest region that overlaps the driver's memory is left out: the
 * device would reach the driver's memory at those addresses (the first
 * region that holds an address wins): a request into the rest of the
 * region faults (ERR, the context reset), one into the driver's own
 * addresses is refused (cr_submit(), ERR).
 */
static void cr_iommu_rebuild(struct cr_dev *c, bool with_guest)
{
	const struct vu_mem_region *r;
	unsigned int n = 0, k = 1;

	c->regions[0] = (struct vc_iommu_region){
		.gpa = CR_DRV_GPA, .size = CR_DRV_SIZE, .hva = c->dmem, .writable = true,
	};
	r = with_guest ? vu_mem_regions(&c->vu, &n) : NULL;
	for (unsigned int i = 0; i < n && i < VU_MAX_MEM_REGIONS; i++) {
		if (r[i].gpa < CR_DRV_GPA + CR_DRV_SIZE &&
		    (r[i].gpa >= CR_DRV_GPA || CR_DRV_GPA - r[i].gpa < r[i].size)) {
			dom_printf(c->d, "%s: guest memory at %#llx overlaps the driver's; the "
				   "device cannot reach it", c->d->cfg.name,
				   (unsigned long long)r[i].gpa);
			continue;
		}
		c->regions[k++] = (struct vc_iommu_region){
			.gpa = r[i].gpa, .size = r[i].size, .hva = r[i].host,
			.writable = r[i].writable,
		};
	}
	c->d->iommu = (struct vc_iommu){ .regions = c->regions, .nr_regions = k };
}

/* ---- sessions --------------------------------------------------------------------- */

static struct cr_session *cr_session_find(struct cr_dev *c, uint64_t id)
{
	for (unsigned int i = 0; i < CR_MAX_SESSIONS; i++)
		if (c->sess[i].used && !c->sess[i].closing && c->sess[i].id == id)
			return &c->sess[i];
	return NULL;
}

/* Forget @s: its slot cleared on the device, its key scrubbed here. */
static void cr_session_free(struct cr_dev *c, struct cr_session *s)
{
	if (s->slot >= 0) {
		if (c->drv_ok && simcp_drv_key_clear(&c->drv, (unsigned int)s->slot) == 0)
			simcp_drv_kick(&c->drv);
		explicit_bzero(c->dmem + CR_KEY_OFF + (size_t)s->slot * CR_KEY_STRIDE,
			       CR_KEY_STRIDE);
		c->slot_sess[s->slot] = -1;
	}
	explicit_bzero(s, sizeof(*s));
	s->slot = -1;
}

static int cr_create_session(void *opaque, const struct vu_crypto_session_req *req,
			     int64_t *session_id)
{
	struct cr_dev *c = opaque;
	struct cr_session *s = NULL;

	if (req->op_type != VC_CRYPTO_SYM_OP_CIPHER ||
	    req->cipher_alg != VC_CRYPTO_CIPHER_AES_CBC ||
	    (req->key_len != 16 && req->key_len != 24 && req->key_len != 32) ||
	    (req->direction != VC_CRYPTO_OP_ENCRYPT && req->direction != VC_CRYPTO_OP_DECRYPT))
		return -ENOTSUP;
	for (unsigned int i = 0; i < CR_MAX_SESSIONS && !s; i++)
		if (!c->sess[i].used)
			s = &c->sess[i];
	if (!s)
		return -ENOSPC;
	s->used = true;
	s->id = c->next_sid++;
	memcpy(s->key, req->key, req->key_len);
	s->key_len = req->key_len;
	s->slot = -1;
	*session_id = (int64_t)s->id;
	return 0;
}

static int cr_close_session(void *opaque, uint64_t id)
{
	struct cr_dev *c = opaque;
	struct cr_session *s = cr_session_find(c, id);

	if (!s)
		return -ENOENT;
	if (s->busy)
		s->closing = true;  /* freed when its last request completes */
	else
		cr_session_free(c, s);
	return 0;
}

/* A key slot for @s: its own, or the least recently used free one (loaded now). */
static int cr_session_slot(struct cr_dev *c, struct cr_session *s)
{
	int best = -1;

	if (s->slot < 0) {
		for (unsigned int i = 0; i < SIMCP_KEY_SLOTS; i++) {
			int o = c->slot_sess[i];

			if (o >= 0 && c->sess[o].busy)
				continue;
			if (best < 0 || c->slot_tick[i] < c->slot_tick[best])
				best = (int)i;
		}
		if (best < 0)
			return -EBUSY;  /* cannot happen: CR_INFLIGHT <= SIMCP_KEY_SLOTS */
		if (c->slot_sess[best] >= 0)
			c->sess[c->slot_sess[best]].slot = -1;
		memcpy(c->dmem + CR_KEY_OFF + (size_t)best * CR_KEY_STRIDE, s->key, s->key_len);
		if (simcp_drv_key_load(&c->drv, (unsigned int)best,
				       CR_DRV_GPA + CR_KEY_OFF + (uint64_t)best * CR_KEY_STRIDE,
				       s->key_len))
			return -EIO;
		c->slot_sess[best] = (int)(s - c->sess);
		s->slot = best;
	}
	c->slot_tick[s->slot] = ++c->tick;
	return s->slot;
}

/* After a device reset every slot is empty. */
static void cr_slots_lost(struct cr_dev *c)
{
	for (unsigned int i = 0; i < SIMCP_KEY_SLOTS; i++) {
		if (c->slot_sess[i] >= 0)
			c->sess[c->slot_sess[i]].slot = -1;
		c->slot_sess[i] = -1;
	}
	explicit_bzero(c->dmem + CR_KEY_OFF, SIMCP_KEY_SLOTS * CR_KEY_STRIDE);
}

/* ---- requests ---------------------------------------------------------------------- */

/* Copy @len bytes at offset @off of the segments [@s, @s + @n) to @buf; false if short. */
static bool seg_read(const struct vu_seg *s, unsigned int n, uint64_t off, void *buf,
		     uint32_t len)
{
	uint8_t *p = buf;

	for (unsigned int i = 0; i < n && len; i++) {
		uint32_t take;

		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		take = (uint32_t)VC_MIN((uint64_t)len, s[i].len - off);
		memcpy(p, (const uint8_t *)s[i].host + off, take);
		p += take;
		len -= take;
		off = 0;
	}
	return !len;
}

/* The byte at offset @off of the segments, or NULL. */
static uint8_t *seg_byte(const struct vu_seg *s, unsigned int n, uint64_t off)
{
	for (unsigned int i = 0; i < n; i++) {
		if (off < s[i].len)
			return (uint8_t *)s[i].host + off;
		off -= s[i].len;
	}
	return NULL;
}

/* An SG table of [@off, @off + @len) of the segments; its entry count, or -E2BIG. */
static int seg_table(const struct vu_seg *s, unsigned int n, uint64_t off, uint32_t len,
		     struct simcp_sg_entry *t)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint32_t take;

		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		if (k == SIMCP_SG_MAX_ENTRIES)
			return -E2BIG;
		take = (uint32_t)VC_MIN((uint64_t)len, s[i].len - off);
		simcp_drv_sg_set(&t[k++], s[i].gpa + off, take);
		len -= take;
		off = 0;
	}
	return len ? -E2BIG : (int)k;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Give @r back to the guest with @status; the request's area is free again. */
static void cr_finish(struct cr_dev *c, struct cr_req *r, uint8_t status)
{
	struct vu_virtq *vq = vu_queue(&c->vu, 0);

	if (r->status)
		*r->status = status;
	/* A chain too bad to carry a status byte is given back with nothing written. */
	if (vq)
		(void)vu_virtq_push(vq, &r->elem, status == VC_CRYPTO_OK ? r->len :
				    r->status ? r->elem.in_len : 0);
	if (status == VC_CRYPTO_OK)
		c->done++;
	else
		c->failed++;
	if (r->sess) {
		r->sess->busy--;
		if (r->sess->closing && !r->sess->busy)
			cr_session_free(c, r->sess);
	}
	explicit_bzero(c->dmem + CR_REQ_OFF + (size_t)r->idx * CR_REQ_STRIDE, 64);
	r->used = false;
	r->t_queued = 0;
	r->sess = NULL;
}

/*
 * Check the request in @r->elem and queue it on the device; returns a
 * virtio-crypto status other than OK when it is refused (and not queued).
 */
static uint8_t cr_submit(struct cr_dev *c, struct cr_req *r)
{
	const struct vu_elem *e = &r->elem;
	const struct vu_seg *out = e->segs, *in = e->segs + e->n_out;
	uint8_t hdr[VC_CRYPTO_HDR_LEN], *area;
	uint32_t opcode, algo, op_type, iv_len, src_len, dst_len;
	uint64_t sid, area_gpa;
	struct cr_session *s;
	int slot, ns, nd;

	r->status = e->in_len ? seg_byte(in, e->n_in, e->in_len - 1) : NULL;
	if (!seg_read(out, e->n_out, 0, hdr, sizeof(hdr)) || !e->in_len)
		return VC_CRYPTO_BADMSG;
	opcode = rd32(hdr);
	algo = rd32(hdr + 4);
	sid = rd64(hdr + 8);
	iv_len = rd32(hdr + 24);
	src_len = rd32(hdr + 28);
	dst_len = rd32(hdr + 32);
	op_type = rd32(hdr + 64);
	if ((opcode != VC_CRYPTO_CIPHER_ENCRYPT && opcode != VC_CRYPTO_CIPHER_DECRYPT) ||
	    (op_type != VC_CRYPTO_SYM_OP_CIPHER && op_type != 0) ||
	    (algo != 0 && algo != VC_CRYPTO_CIPHER_AES_CBC))
		return VC_CRYPTO_NOTSUPP;
	/*
	 * The status byte is the last writable byte; the destination is the
	 * start of what comes before it (Linux hands over the whole
	 * destination scatterlist, which may be longer than dst_len).
	 */
	if ((uint64_t)dst_len + 1 > e->in_len)
		return VC_CRYPTO_BADMSG;
	if (iv_len != SIMCP_AES_BLOCK || src_len != dst_len || src_len % SIMCP_AES_BLOCK ||
	    src_len > SIMCP_MAX_LEN ||
	    (uint64_t)VC_CRYPTO_HDR_LEN + iv_len + src_len > e->out_len)
		return VC_CRYPTO_BADMSG;
	s = cr_session_find(c, sid);
	if (!s)
		return VC_CRYPTO_INVSESS;
	/* The device would take these for the driver's memory (cr_iommu_rebuild()). */
	for (unsigned int i = 0; i < e->n_out + e->n_in; i++)
		if (e->segs[i].len && e->segs[i].gpa < CR_DRV_GPA + CR_DRV_SIZE &&
		    e->segs[i].gpa + e->segs[i].len > CR_DRV_GPA)
			return VC_CRYPTO_ERR;

	area = c->dmem + CR_REQ_OFF + (size_t)r->idx * CR_REQ_STRIDE;
	area_gpa = CR_DRV_GPA + CR_REQ_OFF + (uint64_t)r->idx * CR_REQ_STRIDE;
	if (!seg_read(out, e->n_out, VC_CRYPTO_HDR_LEN, area, SIMCP_AES_BLOCK))
		return VC_CRYPTO_BADMSG;
	ns = seg_table(out, e->n_out, VC_CRYPTO_HDR_LEN + iv_len, src_len,
		       (struct simcp_sg_entry *)(area + 64));
	nd = seg_table(in, e->n_in, 0, dst_len,
		       (struct simcp_sg_entry *)(area + 64 + CR_SG_BYTES));
	if (ns < 0 || nd < 0)
		return VC_CRYPTO_BADMSG;
	if (simcp_drv_space(&c->drv) < 4)
		return VC_CRYPTO_ERR;
	slot = cr_session_slot(c, s);
	if (slot < 0)
		return VC_CRYPTO_ERR;
	if (simcp_drv_aes_cbc_sg(&c->drv, (unsigned int)slot, opcode == VC_CRYPTO_CIPHER_DECRYPT,
				 area_gpa + 64, area_gpa + 64 + CR_SG_BYTES, src_len, area_gpa,
				 SIMCP_AES_SG, 0) ||
	    simcp_drv_fence(&c->drv, true, &r->fence))
		return VC_CRYPTO_ERR;
	s->busy++;
	r->sess = s;
	r->len = dst_len + 1;
	return VC_CRYPTO_OK;
}

/*
 * Take what the guest queued, as long as there is room in flight - and at
 * most a ring's worth of chains per turn of the host's loop: a guest that
 * keeps refilling its ring with chains refused at once does not keep the
 * loop from everyone else (the rest is taken on the next turn, through the
 * interrupt eventfd).
 */
static void cr_run(struct cr_dev *c)
{
	struct vu_virtq *vq = vu_queue(&c->vu, 0);
	unsigned int budget;
	bool kicked = false;

	if (!c->started || !c->drv_ok || !vq)
		return;
	budget = vu_virtq_size(vq);
	while (c->inflight < CR_INFLIGHT) {
		struct cr_req *r = NULL;
		uint8_t st;
		int got;

		for (unsigned int i = 0; i < CR_INFLIGHT && !r; i++)
			if (!c->req[i].used)
				r = &c->req[i];
		if (!r)
			break;
		if (!budget--) {
			uint64_t one = 1;

			if (write(c->irq_fd, &one, sizeof(one)) != sizeof(one))
				host_log("%s: interrupt eventfd: %s", c->d->cfg.name, strerror(errno));
			break;
		}
		r->elem = (struct vu_elem){ .segs = r->segs, .max_segs = CR_MAX_SEGS };
		r->t_pop = hloop_now();
		r->status = NULL;
		r->sess = NULL;
		got = vu_virtq_pop(vq, &r->elem);
		if (got == 0 || got == -EIO)
			break;
		r->used = true;
		if (got < 0) {
			c->bad_chains++;
			cr_finish(c, r, VC_CRYPTO_BADMSG);
			continue;
		}
		st = cr_submit(c, r);
		if (st != VC_CRYPTO_OK) {
			if (c->failed < 8)
				dom_printf(c->d, "%s: request refused with status %u (%u+%u segments, "
					   "%u/%u bytes)", c->d->cfg.name, st, r->elem.n_out,
					   r->elem.n_in, r->elem.out_len, r->elem.in_len);
			cr_finish(c, r, st);
			continue;
		}
		c->order[c->inflight++] = r;
		kicked = true;
	}
	if (kicked) {
		uint64_t now;

		simcp_drv_kick(&c->drv);
		now = hloop_now();
		for (unsigned int i = 0; i < c->inflight; i++)
			if (!c->order[i]->t_queued)
				c->order[i]->t_queued = now;
	}
	vu_virtq_notify(vq);
}

/* Complete the requests whose fence is done, oldest first (seen at @seen). */
static void cr_complete_upto(struct cr_dev *c, uint64_t done, uint64_t seen)
{
	unsigned int k = 0;

	while (k < c->inflight && c->order[k]->fence <= done) {
		struct cr_req *r = c->order[k++];
		uint64_t t0 = r->t_pop, tq = r->t_queued;

		cr_finish(c, r, VC_CRYPTO_OK);
		if (tq && seen >= tq) {
			unsigned int i = (unsigned int)(c->nr_lat++ % CR_LAT_SAMPLES);

			c->lat_backend[i] = (uint32_t)VC_MIN((tq - t0) + (hloop_now() - seen),
							     (uint64_t)UINT32_MAX);
			c->lat_device[i] = (uint32_t)VC_MIN(seen - tq, (uint64_t)UINT32_MAX);
		}
	}
	memmove(c->order, c->order + k, (c->inflight - k) * sizeof(c->order[0]));
	c->inflight -= k;
}

/* The device failed (a fault or a hang reset): every request in flight fails, reset. */
static void cr_fail_all(struct cr_dev *c, const char *why)
{
	/* The reset first: the device writes nothing more into their buffers... */
	if (c->drv_ok && simcp_drv_recover(&c->drv, SIMCP_DRV_RESET) < 0) {
		dom_printf(c->d, "%s: the device does not come back; requests fail", c->d->cfg.name);
		c->drv_ok = false;
	}
	cr_slots_lost(c);
	/* ... before the guest is told they are done. */
	for (unsigned int i = 0; i < c->inflight; i++)
		cr_finish(c, c->order[i], VC_CRYPTO_ERR);
	if (c->inflight)
		dom_printf(c->d, "%s: %u request%s failed: %s", c->d->cfg.name, c->inflight,
			   c->inflight == 1 ? "" : "s", why);
	c->inflight = 0;
}

static void cr_irq(struct cr_dev *c)
{
	struct simcp_drv_irq_info info;
	struct vu_virtq *vq = vu_queue(&c->vu, 0);

	if (!c->drv_ok)
		return;
	memset(&info, 0, sizeof(info));
	(void)simcp_drv_irq(&c->drv, &info);
	if (info.status & SIMCP_IRQ_ERROR) {
		char why[64];

		snprintf(why, sizeof(why), "device fault %u", info.fault.code);
		cr_complete_upto(c, info.fence, hloop_now());
		cr_fail_all(c, why);
	} else {
		cr_complete_upto(c, simcp_drv_fence_done(&c->drv), hloop_now());
	}
	if (vq)
		vu_virtq_notify(vq);
	cr_run(c);
}

static void on_irq(void *opaque, int fd, unsigned int revents)
{
	struct cr_dev *c = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		host_log("%s: interrupt eventfd: %s", c->d->cfg.name, strerror(errno));
	cr_irq(c);
}

/*
 * Before the memory the requests point into goes away (a new memory
 * table, the frontend gone, the ring stopped): what the device has done is
 * completed, and what it has not is stopped by a reset of the context -
 * the device touches nothing of it after that - and fails.  Never waits:
 * a frontend cannot hold the host's loop by going away mid-request.
 */
static void cr_drain(struct cr_dev *c, const char *why)
{
	if (c->drv_ok)
		cr_complete_upto(c, simcp_drv_fence_done(&c->drv), hloop_now());
	if (c->inflight)
		cr_fail_all(c, why);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Percentile @p (0..100) of the first @n of @v, sorted in place; 0 when none. */
static uint32_t pct(uint32_t *v, unsigned int n, unsigned int p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[(uint64_t)(n - 1) * p / 100];
}

/* The latency line of the console: "latency: backend p50 ... p99 ..., device ...". */
static void cr_report_latency(struct cr_dev *c)
{
	unsigned int n = (unsigned int)VC_MIN(c->nr_lat, (uint64_t)CR_LAT_SAMPLES);
	uint32_t b50, b99, d50, d99;

	if (!n)
		return;
	b50 = pct(c->lat_backend, n, 50);
	b99 = pct(c->lat_backend, n, 99);
	d50 = pct(c->lat_device, n, 50);
	d99 = pct(c->lat_device, n, 99);
	dom_printf(c->d, "%s: latency over the last %u requests: backend p50 %.1f us p99 %.1f us, "
		   "device and scheduling p50 %.1f us p99 %.1f us", c->d->cfg.name, n, b50 / 1e3,
		   b99 / 1e3, d50 / 1e3, d99 / 1e3);
	c->nr_lat = 0;
}

/* ---- the vhost-user device's callbacks ------------------------------------------------ */

/*
 * The device's config space (virtio 1.2, 5.9.4): what it offers, for a
 * frontend that asks (QEMU 7.2's cryptodev-vhost-user builds its own and
 * never does; it warns that it does not use the backend's).
 */
static int cr_get_config(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len)
{
	uint8_t cfg[56] = { 0 };
	uint32_t v[] = {
		VC_CRYPTO_S_HW_READY, 1, 1u << VC_CRYPTO_SERVICE_CIPHER,
		1u << VC_CRYPTO_CIPHER_AES_CBC, 0, 0, 0, 0, 0, 32, 0, 0,
	};
	uint64_t max = SIMCP_MAX_LEN;

	for (unsigned int i = 0; i < VC_ARRAY_SIZE(v); i++)
		for (unsigned int b = 0; b < 4; b++)
			cfg[4 * i + b] = (uint8_t)(v[i] >> (8 * b));
	for (unsigned int b = 0; b < 8; b++)
		cfg[48 + b] = (uint8_t)(max >> (8 * b));
	if (offset > sizeof(cfg) || len > sizeof(cfg) - offset)
		return -EINVAL;
	memcpy(buf, cfg + offset, len);
	return 0;
}


static void cr_queue_kick(void *opaque, struct vu_virtq *vq)
{
	struct cr_dev *c = opaque;

	if (vq->index == 0)
		cr_run(c);
}

static void cr_queue_stop(void *opaque, struct vu_virtq *vq)
{
	cr_drain(opaque, "the ring stopped");
}

static void cr_connected(void *opaque)
{
	struct cr_dev *c = opaque;

	dom_printf(c->d, "%s: frontend connected on %s", c->d->cfg.name, c->socket);
}

/* A new memory table: nothing in flight may point into the old one. */
static void cr_mem_changed(void *opaque)
{
	struct cr_dev *c = opaque;

	cr_drain(c, "the memory table changed");
	cr_iommu_rebuild(c, true);
}

/* The frontend went: its requests, sessions and memory with it; listen again. */
static void cr_disconnected(void *opaque, const char *why)
{
	struct cr_dev *c = opaque;

	cr_drain(c, "the frontend went");
	for (unsigned int i = 0; i < CR_MAX_SESSIONS; i++)
		if (c->sess[i].used)
			cr_session_free(c, &c->sess[i]);
	/* A reset scrubs every key slot of the context. */
	if (c->drv_ok && simcp_drv_recover(&c->drv, SIMCP_DRV_RESET) < 0)
		c->drv_ok = false;
	cr_slots_lost(c);
	cr_iommu_rebuild(c, false);
	cr_report_latency(c);
	dom_printf(c->d, "%s: frontend gone (%s): %llu requests done, %llu failed; listening "
		   "again", c->d->cfg.name, why, (unsigned long long)c->done,
		   (unsigned long long)c->failed);
}

static const struct vu_dev_ops cr_vu_ops = {
	.get_config = cr_get_config,
	.create_session = cr_create_session,
	.close_session = cr_close_session,
	.queue_kick = cr_queue_kick,
	.queue_stop = cr_queue_stop,
	.connected = cr_connected,
	.disconnected = cr_disconnected,
	.mem_changed = cr_mem_changed,
};

static int watch_set(void *wo, int fd, unsigned int events, vu_watch_cb *cb, void *data)
{
	return hloop_watch(wo, fd, events, cb, data);
}

static void watch_remove(void *wo, int fd)
{
	hloop_unwatch(wo, fd);
}

static const struct vu_watch_ops cr_watch_ops = {
	.set_watch = watch_set,
	.remove_watch = watch_remove,
};

/* ---- the kind ------------------------------------------------------------------------ */

static void cr_irq_raise(struct dom *d, uint32_t irq)
{
	struct cr_dev *c = d->kpriv;
	uint64_t one = 1;

	if (!c || c->irq_fd < 0 || irq != c->irq)
		return;
	atomic_fetch_add_explicit(&d->count.irqs_raised, 1, memory_order_relaxed);
	if (write(c->irq_fd, &one, sizeof(one)) != sizeof(one))
		host_log("%s: interrupt eventfd: %s", d->cfg.name, strerror(errno));
}

static void cr_free(struct cr_dev *c)
{
	if (c->dmem) {
		explicit_bzero(c->dmem, CR_DRV_SIZE);
		munmap(c->dmem, CR_DRV_SIZE);
	}
	explicit_bzero(c->sess, sizeof(c->sess));
	free(c);
}

static int cr_create(struct dom *d, char *err, size_t errlen)
{
	const struct domcfg_virtio *v = &d->cfg.virtio[0];
	struct cr_dev *c;
	int r;

	if (d->cfg.nr_virtio != 1)
		return domcfg_errorf(&d->cfg, d->cfg.virtio[1].pos, err, errlen,
				     "expected one virtio device in a vhost-user domain, found %u",
				     d->cfg.nr_virtio);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->irq_fd = -1;
	/* Session ids are unique on the host: another domain's never names one here. */
	c->next_sid = (uint64_t)d->domid << 32;
	for (unsigned int i = 0; i < SIMCP_KEY_SLOTS; i++)
		c->slot_sess[i] = -1;
	for (unsigned int i = 0; i < CR_INFLIGHT; i++)
		c->req[i].idx = i;
	for (unsigned int i = 0; i < CR_MAX_SESSIONS; i++)
		c->sess[i].slot = -1;
	if (domcfg_resolve_path(&d->cfg, v->socket, c->socket, sizeof(c->socket))) {
		r = domcfg_errorf(&d->cfg, v->socket_pos, err, errlen, "socket path too long");
		goto out_free;
	}
	c->dmem = mmap(NULL, CR_DRV_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (c->dmem == MAP_FAILED) {
		c->dmem = NULL;
		r = -errno;
		snprintf(err, errlen, "%s: driver memory: %s", d->cfg.fname, strerror(errno));
		goto out_free;
	}
	r = vu_init(&c->vu, 1, &cr_vu_ops, c, &cr_watch_ops, d->host->loop);
	if (r) {
		snprintf(err, errlen, "%s: vhost-user: %s", d->cfg.fname, strerror(-r));
		goto out_free;
	}
	r = vu_listen(&c->vu, c->socket);
	if (r) {
		domcfg_errorf(&d->cfg, v->socket_pos, err, errlen, "cannot listen on %s: %s",
			      c->socket, strerror(-r));
		goto out_vu;
	}
	d->kpriv = c;
	cr_iommu_rebuild(c, false);
	return 0;

out_vu:
	vu_destroy(&c->vu);
out_free:
	cr_free(c);
	return r;
}

/* The vcoproc the device runs on: its window, its interrupt, the driver on its context. */
static int cr_attach(struct dom *d, char *err, size_t errlen)
{
	struct cr_dev *c = d->kpriv;
	const struct domcfg_virtio *v = &d->cfg.virtio[0];
	const struct vc_coproc_desc *desc;
	struct simcp_drv_bus bus = { bus_read32, bus_write32, c };
	struct simcp_drv_ring ring = { .va = c->dmem, .pa = CR_DRV_GPA, .size = CR_RING_SIZE };
	int r;

	for (unsigned int i = 0; i < d->nr_vv && !c->vv; i++)
		if (!v->vcoproc[0] || !strcmp(d->cfg.vcoproc[i].instance, v->vcoproc))
			c->vv = d->vv[i];
	if (!c->vv)
		return domcfg_errorf(&d->cfg, v->pos, err, errlen, "no vcoproc for the device");
	desc = vc_coproc_desc(vc_vcoproc_coproc(c->vv));
	if (!desc->nr_mmio || !desc->nr_irqs)
		return domcfg_errorf(&d->cfg, v->pos, err, errlen, "%s has no window or no "
				     "interrupt", vc_coproc_name(vc_vcoproc_coproc(c->vv)));
	c->win = desc->mmio[0].base;
	c->irq = desc->irqs[0];
	c->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->irq_fd < 0)
		return -errno;
	r = hloop_watch(d->host->loop, c->irq_fd, HLOOP_IN, on_irq, c);
	if (r)
		return r;
	r = simcp_drv_init(&c->drv, &bus, &ring, 0);
	if (!r && !(simcp_drv_caps(&c->drv) & SIMCP_CAP_AES))
		r = -SIMCP_DRV_ENODEV;
	if (r)
		return domcfg_errorf(&d->cfg, v->pos, err, errlen, "%s cannot serve a crypto device: "
				     "%s", vc_coproc_name(vc_vcoproc_coproc(c->vv)),
				     r == -SIMCP_DRV_ENODEV ? "no AES-CBC" : simcp_drv_strerror(r));
	c->drv_ok = true;
	return 0;
}

static int cr_start(struct dom *d)
{
	struct cr_dev *c = d->kpriv;

	c->started = true;
	dom_printf(d, "%s: virtio-crypto on %s, vhost-user socket %s", d->cfg.name,
		   vc_coproc_name(vc_vcoproc_coproc(c->vv)), c->socket);
	cr_run(c);
	return 0;
}

/* The guest touches nothing more: its frontend is dropped, its requests done or failed. */
static void cr_stop(struct dom *d)
{
	struct cr_dev *c = d->kpriv;

	if (!c || !c->started)
		return;
	c->started = false;
	vu_disconnect(&c->vu, "the domain is stopping");
	cr_drain(c, "the domain is stopping");
}

static void cr_destroy(struct dom *d)
{
	struct cr_dev *c = d->kpriv;

	if (!c)
		return;
	vu_destroy(&c->vu);
	if (c->irq_fd >= 0) {
		hloop_unwatch(d->host->loop, c->irq_fd);
		close(c->irq_fd);
	}
	d->iommu = (struct vc_iommu){ 0 };
	cr_free(c);
	d->kpriv = NULL;
}

const struct dom_kind dom_kind_vhost_user = {
	.name = "vhost-user",
	.create = cr_create,
	.attach = cr_attach,
	.start = cr_start,
	.stop = cr_stop,
	.destroy = cr_destroy,
	.irq_raise = cr_irq_raise,
};
