// SPDX-License-Identifier: MIT
/*
 * DOC: OpenCL platform - the device thread and the switch protocol
 *
 * One device thread per device walks the loaded context's ring: begin
 * (device.c: fetch, check, translate, form an AES_CBC batch), submit
 * (without the lock: the inputs are written into the staging buffers and
 * the kernel enqueued, with a callback for its end), wait for the kernel,
 * read the result back into guest memory (without the lock), retire.
 * Commands run one at a time on one in-order queue, as on a device with
 * one engine; WAIT is polled by the thread itself.
 *
 * Switches: a stop between commands is immediate; while a kernel is in
 * flight (or a non-preemptible section is open) it is refused with the
 * kernel's expected remaining time, and the device begins no new command
 * until the retry (or hold_ns past the kernel's end).  A kernel far past
 * its expected time is taken for hung: stop() fails, the framework resets
 * the context, and the kernel is abandoned - its queue and the buffers it
 * may still write are set aside until it ends, and the device goes on
 * with new ones.  Other contexts' buffers are never among them.
 *
 * save/load: a resident context's buffers stay where they are and only
 * the host-side state moves; a copied context's written pages and key
 * slots are read back into its host copy on save and written into the
 * live buffers on load, enqueued on the same in-order queue ahead of the
 * next command (ready_at() is when they should be done, at the rate
 * measured at creation).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "oclcp_priv.h"

vc_time_t oclcp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (vc_time_t)ts.tv_sec * 1000000000ull + (vc_time_t)ts.tv_nsec;
}

static vc_time_t ps_ns(uint64_t bytes, uint64_t ps)
{
	return (bytes * ps + 999) / 1000;
}

vc_time_t oclcp_expected_ns(const struct oclcp *s, const struct simcp_cmd *c)
{
	uint64_t len = c->len > SIMCP_MAX_LEN ? SIMCP_MAX_LEN : c->len;
	vc_time_t o = s->overhead_ns, x = ps_ns(len, s->ps_xfer);

	switch (c->op) {
	case SIMCP_OP_COPY:  return o + 2 * x + ps_ns(len, s->ps_move);
	case SIMCP_OP_LOAD: case SIMCP_OP_STORE: return o + x + ps_ns(len, s->ps_move);
	case SIMCP_OP_FILL:  return o + x + ps_ns(len, s->ps_fill);
	case SIMCP_OP_HASH:
		return o + x + ps_ns(len, c->arg == SIMCP_HASH_SHA256 ? s->ps_sha : s->ps_crc);
	case SIMCP_OP_COMPUTE:
		return o + (c->a > SIMCP_MAX_COMPUTE_NS ? SIMCP_MAX_COMPUTE_NS : c->a);
	case SIMCP_OP_AES_CBC:
		return o + 2 * x + ps_ns(len, c->arg & SIMCP_AES_DECRYPT ? s->ps_aes_dec
									  : s->ps_aes_enc);
	default:
		return o;
	}
}

/* ---- the engine (s->lock held) --------------------------------------- */

void oclcp_kick(struct oclcp *s)
{
	if (s->sleeping && s->kicked_at == VC_TIME_INF)
		s->kicked_at = oclcp_now();
	pthread_cond_broadcast(&s->cond);
}

void oclcp_wait_phase(struct oclcp *s)
{
	while (s->cur.phase == OCLCP_PH_SUBMIT || s->cur.phase == OCLCP_PH_READBACK)
		pthread_cond_wait(&s->cond, &s->lock);
}

cl_mem oclcp_cur_scratch(struct oclcp *s)
{
	return s->owner && s->owner->resident ? s->owner->scratch : s->live_scratch;
}

cl_mem oclcp_cur_keys(struct oclcp *s)
{
	return s->owner && s->owner->resident ? s->owner->keys : s->live_keys;
}

static void kw_put(struct oclcp_kwait *kw)
{
	if (kw && __atomic_sub_fetch(&kw->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(kw);
}

void oclcp_abandon(struct oclcp *s)
{
	struct oclcp_inflight *f = &s->cur;

	oclcp_wait_phase(s);
	if (f->phase == OCLCP_PH_KERNEL && f->kw && !__atomic_load_n(&f->kw->done, __ATOMIC_ACQUIRE)) {
		cl_mem *scratch = s->owner && s->owner->resident ? &s->owner->scratch
								 : &s->live_scratch;

		s->stats.abandoned++;
		/*
		 * The kernel may still write the staging buffers and the
		 * scratch it runs on: the device goes on with new ones, and
		 * the context's scratch is lost (zero, nothing dirty).
		 */
		if (oclcp_cl_renew(s, scratch) == 0) {
			memset(s->live.dirty, 0, sizeof(s->live.dirty));
			if (scratch == &s->live_scratch)
				memset(s->livebuf_dirty, 0, sizeof(s->livebuf_dirty));
		}
	}
	kw_put(f->kw);
	f->kw = NULL;
	f->phase = OCLCP_PH_NONE;
	s->np_open = false;
}

/* No lock: see struct oclcp_kwait.  A wake-up lost to a race is made good
 * by the device thread's bounded wait (step()). */
static void CL_CALLBACK kernel_done(cl_event ev, cl_int status, void *arg)
{
	struct oclcp_kwait *kw = arg;
	struct oclcp *s = kw->s;

	kw->status = status;
	__atomic_store_n(&kw->done, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&s->cond);
	kw_put(kw);
	__atomic_sub_fetch(&s->callbacks, 1, __ATOMIC_ACQ_REL);
}

static cl_int run_kernel(struct oclcp *s, cl_command_queue q, cl_kernel k, size_t global,
			 cl_event *ev)
{
	return clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, ev);
}

#define ARG(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))

static size_t round_up(uint64_t n, size_t to)
{
	return (size_t)((n + to - 1) / to * to);
}

/* AES_CBC batch: gather, descriptors, the kernels; the last one's event in *@ev. */
static cl_int submit_aes(struct oclcp *s, cl_command_queue q, cl_event *ev)
{
	const struct oclcp_inflight *f = &s->cur;
	uint32_t desc[OCLCP_BATCH_MAX * 8];
	cl_mem keys = oclcp_cur_keys(s);
	uint64_t total = 0;
	uint32_t blocks = 0, nreq = f->nreq;
	bool dec = f->cmd.arg & SIMCP_AES_DECRYPT;
	cl_int e;

	for (unsigned int r = 0; r < nreq; r++) {
		const struct oclcp_req *rq = &s->req[r];
		uint8_t *p = s->bounce_in + rq->off;

		for (unsigned int i = 0; i < rq->nseg[0]; i++) {
			const struct oclcp_seg *g = &s->seg[0][rq->seg0[0] + i];

			memcpy(p, g->p, g->len);
			p += g->len;
		}
		desc[8 * r] = rq->cmd.arg & SIMCP_ARG_SLOT_MASK;
		desc[8 * r + 1] = (uint32_t)rq->off;
		desc[8 * r + 2] = rq->cmd.len;
		desc[8 * r + 3] = blocks;
		for (int w = 0; w < 4; w++)
			desc[8 * r + 4 + w] = (uint32_t)rq->iv[4 * w] << 24 |
					      (uint32_t)rq->iv[4 * w + 1] << 16 |
					      (uint32_t)rq->iv[4 * w + 2] << 8 | rq->iv[4 * w + 3];
		blocks += rq->cmd.len / SIMCP_AES_BLOCK;
		total = rq->off + rq->cmd.len;
	}
	e = clEnqueueWriteBuffer(q, s->stage_in, CL_TRUE, 0, total, s->bounce_in, 0, NULL, NULL);
	if (!e)
		e = clEnqueueWriteBuffer(q, s->reqbuf, CL_TRUE, 0, nreq * 32, desc, 0, NULL, NULL);
	if (e)
		return e;
	if (!dec) {
		e = ARG(s->k_enc, 0, s->reqbuf) | ARG(s->k_enc, 1, keys) |
		    ARG(s->k_enc, 2, s->stage_in) | ARG(s->k_enc, 3, s->stage_out) |
		    ARG(s->k_enc, 4, s->tab);
		return e ? e : run_kernel(s, q, s->k_enc, nreq, ev);
	}
	e = ARG(s->k_dkey, 0, s->reqbuf) | ARG(s->k_dkey, 1, keys) |
	    ARG(s->k_dkey, 2, s->sched) | ARG(s->k_dkey, 3, s->tab);
	if (!e)
		e = run_kernel(s, q, s->k_dkey, nreq, NULL);
	if (!e)
		e = ARG(s->k_dec, 0, s->reqbuf) | ARG(s->k_dec, 1, nreq) |
		    ARG(s->k_dec, 2, s->sched) | ARG(s->k_dec, 3, s->stage_in) |
		    ARG(s->k_dec, 4, s->stage_out) | ARG(s->k_dec, 5, s->tab) |
		    ARG(s->k_dec, 6, blocks);
	return e ? e : run_kernel(s, q, s->k_dec, round_up(blocks, 64), ev);
}

cl_int oclcp_submit(struct oclcp *s)
{
	const struct oclcp_inflight *f = &s->cur;
	const struct simcp_cmd *c = &f->cmd;
	cl_command_queue q = s->q;
	cl_mem scratch = oclcp_cur_scratch(s);
	cl_ulong len = c->len, zero = 0, off;
	cl_event ev = NULL;
	struct oclcp_kwait *kw;
	cl_int e = 0;

	switch (c->op) {
	case SIMCP_OP_KEY: {
		uint8_t slot[OCLCP_KEY_STRIDE] = { 0 };

		if (!(c->arg & SIMCP_KEY_CLEAR)) {
			memcpy(slot, f->src, c->len);
			slot[32] = (uint8_t)c->len;
		}
		e = clEnqueueWriteBuffer(q, oclcp_cur_keys(s), CL_FALSE,
					 (c->arg & SIMCP_ARG_SLOT_MASK) * OCLCP_KEY_STRIDE,
					 sizeof(slot), slot, 0, NULL, &ev);
		if (!e)
			e = clWaitForEvents(1, &ev); /* slot is on this stack */
		oclcp_scrub(slot, sizeof(slot));
		break;
	}
	case SIMCP_OP_COPY: case SIMCP_OP_LOAD: {
		cl_mem to = c->op == SIMCP_OP_LOAD ? scratch : s->stage_out;

		e = clEnqueueWriteBuffer(q, s->stage_in, CL_TRUE, 0, len, f->src, 0, NULL, NULL);
		off = c->op == SIMCP_OP_LOAD ? c->b : 0;
		if (!e)
			e = ARG(s->k_move, 0, s->stage_in) | ARG(s->k_move, 1, zero) |
			    ARG(s->k_move, 2, to) |
			    ARG(s->k_move, 3, off) | ARG(s->k_move, 4, len);
		if (!e)
			e = run_kernel(s, q, s->k_move, round_up((len + 15) / 16, 64), &ev);
		break;
	}
	case SIMCP_OP_STORE:
		off = c->a;
		e = ARG(s->k_move, 0, scratch) | ARG(s->k_move, 1, off) |
		    ARG(s->k_move, 2, s->stage_out) | ARG(s->k_move, 3, zero) |
		    ARG(s->k_move, 4, len);
		if (!e)
			e = run_kernel(s, q, s->k_move, round_up((len + 15) / 16, 64), &ev);
		break;
	case SIMCP_OP_FILL: {
		cl_ulong words = (len + 3) / 4;
		cl_uint pat = (cl_uint)c->c;

		e = ARG(s->k_fill, 0, s->stage_out) | ARG(s->k_fill, 1, words) |
		    ARG(s->k_fill, 2, pat);
		if (!e)
			e = run_kernel(s, q, s->k_fill, round_up(words, 64), &ev);
		break;
	}
	case SIMCP_OP_HASH:
		if (len)
			e = clEnqueueWriteBuffer(q, s->stage_in, CL_TRUE, 0, len, f->src, 0, NULL,
						 NULL);
		if (e)
			break;
		if (c->arg == SIMCP_HASH_CRC32C) {
			e = ARG(s->k_crc, 0, s->stage_in) | ARG(s->k_crc, 1, len) |
			    ARG(s->k_crc, 2, s->stage_out) | ARG(s->k_crc, 3, s->crc_tab);
			if (!e)
				e = run_kernel(s, q, s->k_crc, 1, &ev);
		} else {
			e = ARG(s->k_sha, 0, s->stage_in) | ARG(s->k_sha, 1, len) |
			    ARG(s->k_sha, 2, s->stage_out);
			if (!e)
				e = run_kernel(s, q, s->k_sha, 1, &ev);
		}
		break;
	case SIMCP_OP_COMPUTE: {
		cl_ulong spins = c->a * s->spin_per_us / 1000;

		e = ARG(s->k_compute, 0, scratch) | ARG(s->k_compute, 1, len) |
		    ARG(s->k_compute, 2, spins) | ARG(s->k_compute, 3, s->sink);
		if (!e)
			e = run_kernel(s, q, s->k_compute, 1, &ev);
		break;
	}
	case SIMCP_OP_AES_CBC:
		e = submit_aes(s, q, &ev);
		break;
	default:
		break;
	}
	if (!e && ev)
		e = clFlush(q);
	if (e || !ev) {
		if (ev)
			clReleaseEvent(ev);
		if (!e) {
			/* Nothing was enqueued: nothing to wait for. */
			pthread_mutex_lock(&s->lock);
			s->cur.kdone = true;
			pthread_mutex_unlock(&s->lock);
		}
		return e;
	}
	kw = malloc(sizeof(*kw));
	if (kw) {
		*kw = (struct oclcp_kwait){ .s = s, .refs = 2 };
		__atomic_add_fetch(&s->callbacks, 1, __ATOMIC_ACQ_REL);
		if (clSetEventCallback(ev, CL_COMPLETE, kernel_done, kw)) {
			__atomic_sub_fetch(&s->callbacks, 1, __ATOMIC_ACQ_REL);
			free(kw);
			kw = NULL;
		}
	}
	if (!kw) {
		/* No callback: wait here (the kernel cannot be abandoned then). */
		e = clWaitForEvents(1, &ev);
		pthread_mutex_lock(&s->lock);
		s->cur.kdone = true;
		pthread_mutex_unlock(&s->lock);
	} else {
		s->cur.kw = kw;  /* phase SUBMIT: nobody else touches s->cur */
	}
	pthread_mutex_lock(&s->lock);
	s->stats.kernels++;
	pthread_mutex_unlock(&s->lock);
	clReleaseEvent(ev);
	return e;
}

cl_int oclcp_readback(struct oclcp *s)
{
	const struct oclcp_inflight *f = &s->cur;
	const struct simcp_cmd *c = &f->cmd;
	uint64_t total;
	cl_int e;

	switch (c->op) {
	case SIMCP_OP_COPY: case SIMCP_OP_FILL: case SIMCP_OP_STORE:
		return clEnqueueReadBuffer(s->q, s->stage_out, CL_TRUE, 0, c->len, f->dst, 0,
					   NULL, NULL);
	case SIMCP_OP_HASH:
		return clEnqueueReadBuffer(s->q, s->stage_out, CL_TRUE, 0,
					   c->arg == SIMCP_HASH_CRC32C ? 4 : 32, f->dst, 0, NULL,
					   NULL);
	case SIMCP_OP_AES_CBC:
		total = s->req[f->nreq - 1].off + s->req[f->nreq - 1].cmd.len;
		e = clEnqueueReadBuffer(s->q, s->stage_out, CL_TRUE, 0, total, s->bounce_out, 0,
					NULL, NULL);
		if (e)
			return e;
		for (unsigned int r = 0; r < f->nreq; r++) {
			const struct oclcp_req *rq = &s->req[r];
			const uint8_t *p = s->bounce_out + rq->off;

			for (unsigned int i = 0; i < rq->nseg[1]; i++) {
				const struct oclcp_seg *g = &s->seg[1][rq->seg0[1] + i];

				memcpy(g->p, p, g->len);
				p += g->len;
			}
		}
		oclcp_scrub(s->bounce_in, total);
		oclcp_scrub(s->bounce_out, total);
		return 0;
	default:
		return 0;
	}
}

static bool has_data_work(const struct simcp_cmd *c)
{
	switch (c->op) {
	case SIMCP_OP_COPY: case SIMCP_OP_FILL: case SIMCP_OP_LOAD:
	case SIMCP_OP_STORE: case SIMCP_OP_COMPUTE: case SIMCP_OP_AES_CBC:
		return c->len != 0 || c->op == SIMCP_OP_COMPUTE;
	case SIMCP_OP_HASH: case SIMCP_OP_KEY:
		return true;
	default:
		return false;
	}
}

/* The device failed the command (not the guest): a BAD_CMD fault, nothing usable written. */
static void device_failed(struct oclcp *s)
{
	s->cur.fault = SIMCP_FAULT_BAD_CMD;
	s->cur.fault_addr = 0;
}

/* A retired command ends the section unless it chains to one already submitted. */
static void np_retired(struct oclcp *s)
{
	const struct oclcp_inflight *f = &s->cur;

	if (s->np_open && (f->fault || !(f->cmd.flags & SIMCP_F_CHAIN) ||
			   !oclcp_state_has_work(&s->live)))
		s->np_open = false;
}

/*
 * Advance the device: finish the command in flight if it can be, begin
 * the next.  Returns when to look again (VC_TIME_INF: on a kick), or @now
 * when events are to be delivered first.
 */
static vc_time_t step(struct oclcp *s)
{
	struct oclcp_inflight *f = &s->cur;

	for (;;) {
		vc_time_t now = oclcp_now();

		if (f->phase == OCLCP_PH_KERNEL) {
			if (f->kw && __atomic_load_n(&f->kw->done, __ATOMIC_ACQUIRE)) {
				f->kdone = true;
				f->kstatus = f->kw->status;
			}
			if (!f->kdone)
				return now + VC_MSEC(1); /* its callback wakes us sooner */
			kw_put(f->kw);
			f->kw = NULL;
			if (f->kstatus < 0) {
				device_failed(s);
			} else {
				f->phase = OCLCP_PH_READBACK;
				pthread_mutex_unlock(&s->lock);
				cl_int e = oclcp_readback(s);
				pthread_mutex_lock(&s->lock);
				if (e)
					device_failed(s);
			}
			oclcp_retire(s);
			np_retired(s);
			pthread_cond_broadcast(&s->cond);
		} else if (f->phase == OCLCP_PH_POLL) {
			if (!s->started || !s->loaded)
				return VC_TIME_INF;
			if (!oclcp_wait_satisfied(s)) {
				if (now < f->expected_end)
					return f->expected_end;
				f->expected_end = now + OCLCP_POLL_NS;
				return f->expected_end;
			}
			oclcp_retire(s);
			np_retired(s);
		}

		if (!s->started || !s->loaded)
			return VC_TIME_INF;
		if (!oclcp_state_has_work(&s->live)) {
			s->np_open = false;
			if (!s->idle_reported) {
				s->idle_reported = true;
				oclcp_queue_event(s, s->owner->tag, VC_EV_IDLE);
			}
			return s->nr_ev ? now : VC_TIME_INF;
		}
		if (s->nr_ev)
			return now;
		/* A stop was refused: leave the boundary to its retry. */
		if (s->stop_wanted) {
			if (s->hold_until == VC_TIME_INF)
				s->hold_until = VC_MAX(now, s->retry_at) + s->hold_ns;
			if (now < s->hold_until)
				return s->hold_until;
		}
		s->stop_wanted = false;
		s->idle_reported = false;
		oclcp_begin(s, now);
		if (f->fault || !has_data_work(&f->cmd)) {
			if (!f->fault && f->cmd.op == SIMCP_OP_WAIT && !oclcp_wait_satisfied(s)) {
				f->phase = OCLCP_PH_POLL;
				f->expected_end = now + OCLCP_POLL_NS;
				continue;
			}
			oclcp_retire(s);
			np_retired(s);
			continue;
		}
		f->phase = OCLCP_PH_SUBMIT;
		pthread_mutex_unlock(&s->lock);
		cl_int e = oclcp_submit(s);
		pthread_mutex_lock(&s->lock);
		f->phase = OCLCP_PH_KERNEL;
		pthread_cond_broadcast(&s->cond);
		if (e) {
			device_failed(s);
			f->kdone = true;
			f->kstatus = 0;
		}
		if (f->cmd.op == SIMCP_OP_KEY)
			f->kdone = true;
		if (f->fault) {
			oclcp_retire(s);
			np_retired(s);
		}
	}
}

/* Deliver the queued events without the lock; returns with it held. */
static void deliver(struct oclcp *s)
{
	struct oclcp_event ev[OCLCP_EVQ_LEN];
	oclcp_event_fn fn = s->sink_fn;
	void *opaque = s->sink_opaque;
	unsigned int n = s->nr_ev;

	memcpy(ev, s->evq, n * sizeof(ev[0]));
	s->nr_ev = 0;
	if (!fn) {
		s->stats.events_dropped += n;
		return;
	}
	s->stats.events += n;
	s->delivering++;
	pthread_mutex_unlock(&s->lock);
	for (unsigned int i = 0; i < n; i++)
		fn(opaque, ev[i].tag, ev[i].ev);
	pthread_mutex_lock(&s->lock);
	s->delivering--;
	pthread_cond_broadcast(&s->cond);
}

static void *device_thread(void *arg)
{
	struct oclcp *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->exiting) {
		vc_time_t next;
		struct timespec ts;

		s->sleeping = false;
		s->kicked_at = VC_TIME_INF;
		next = step(s);
		if (s->nr_ev) {
			deliver(s);
			continue;
		}
		if (s->exiting)
			break;
		s->sleeping = true;
		if (next == VC_TIME_INF) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		if (next <= oclcp_now())
			continue;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

vc_time_t oclcp_seen(struct oclcp *s)
{
	vc_time_t now, seen;

	pthread_mutex_lock(&s->lock);
	now = oclcp_now();
	/* A kernel in flight is the device working, whatever the thread does. */
	if (s->sleeping && s->kicked_at < now && s->cur.phase != OCLCP_PH_KERNEL)
		seen = s->kicked_at;
	else
		seen = now;
	pthread_mutex_unlock(&s->lock);
	return seen;
}

vc_time_t oclcp_ready_at(struct oclcp *s)
{
	vc_time_t t;

	pthread_mutex_lock(&s->lock);
	t = s->busy_until;
	pthread_mutex_unlock(&s->lock);
	return t;
}

/* ---- creation -------------------------------------------------------- */

static void cache_dir(const char *dir)
{
	const char *set = getenv("POCL_CACHE_DIR");
	char path[512];

	/* Set but empty is unset: PoCL cannot use it either. */
	if (!dir || (set && *set))
		return;
	/* mkdir -p of a path the build or the host chose. */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			(void)mkdir(path, 0777);
			*p = '/';
		}
	if (mkdir(path, 0777) && errno != EEXIST)
		return;
	setenv("POCL_CACHE_DIR", path, 1);
}

int oclcp_create(const struct oclcp_config *cfg, struct oclcp **out)
{
	pthread_condattr_t ca;
	struct oclcp *s;
	int err;

	if (cfg->ctx_size && (cfg->ctx_size < OCLCP_PAGE_SIZE || cfg->ctx_size > OCLCP_CTX_SIZE_MAX ||
			      cfg->ctx_size % OCLCP_PAGE_SIZE))
		return -VC_EINVAL;
	if (cfg->residency > OCLCP_RES_NEVER)
		return -VC_EINVAL;
	s = vc_os_zalloc(sizeof(*s));
	if (!s)
		return -VC_ENOMEM;
	s->ctx_size = cfg->ctx_size ? cfg->ctx_size : SIMCP_SCRATCH_SIZE;
	s->nr_pages = s->ctx_size / OCLCP_PAGE_SIZE;
	s->residency = cfg->residency;
	s->max_nonpreempt = cfg->max_nonpreempt;
	s->overrun_factor = cfg->overrun_factor ? cfg->overrun_factor : 4;
	s->overrun_slack = cfg->overrun_slack ? cfg->overrun_slack : VC_MSEC(100);
	s->hold_ns = VC_USEC(500);
	s->sink_fn = cfg->event;
	s->sink_opaque = cfg->event_opaque;
	s->own_sink = cfg->event != NULL;
	s->kicked_at = VC_TIME_INF;
	err = -VC_ENOMEM;
	s->bounce_in = vc_os_zalloc(OCLCP_STAGE_BYTES);
	s->bounce_out = vc_os_zalloc(OCLCP_STAGE_BYTES);
	if (!s->bounce_in || !s->bounce_out)
		goto out_free;
	if (pthread_mutex_init(&s->lock, NULL))
		goto out_free;
	if (pthread_condattr_init(&ca))
		goto out_lock;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&s->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		goto out_lock;
	}
	pthread_condattr_destroy(&ca);
	cache_dir(cfg->pocl_cache_dir);
	err = oclcp_cl_open(s, cfg);
	if (err)
		goto out_cond;
	s->np_bound = cfg->max_nonpreempt ? cfg->max_nonpreempt
					  : SIMCP_MAX_COMPUTE_NS + s->overhead_ns;
	if (pthread_create(&s->thread, NULL, device_thread, s)) {
		err = -VC_EAGAIN;
		goto out_cl;
	}
	*out = s;
	return 0;

out_cl:
	oclcp_cl_close(s);
out_cond:
	pthread_cond_destroy(&s->cond);
out_lock:
	pthread_mutex_destroy(&s->lock);
out_free:
	vc_os_free(s->bounce_in);
	vc_os_free(s->bounce_out);
	vc_os_free(s);
	return err;
}

void oclcp_destroy(struct oclcp *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->exiting = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	oclcp_cl_close(s);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	vc_os_free(s->bounce_in);
	vc_os_free(s->bounce_out);
	vc_os_free(s);
}

void oclcp_info(const struct oclcp *s, struct oclcp_info *out)
{
	*out = s->info;
}

void oclcp_stats(struct oclcp *s, struct oclcp_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- contexts -------------------------------------------------------- */

int oclcp_ctx_alloc(struct oclcp *s, uint32_t tag, struct oclcp_ctx **out)
{
	uint64_t need = (uint64_t)s->ctx_size + OCLCP_KEYS_BYTES;
	struct oclcp_ctx *x;
	int err = -VC_ENOMEM;

	x = vc_os_zalloc(sizeof(*x));
	if (!x)
		return -VC_ENOMEM;
	x->dev = s;
	x->tag = tag;
	pthread_mutex_lock(&s->lock);
	if (s->residency != OCLCP_RES_NEVER && s->resident_used + need <= s->info.resident_bytes) {
		err = oclcp_cl_alloc_ctx_bufs(s, &x->scratch, &x->keys);
		if (!err) {
			x->resident = true;
			s->resident_used += need;
		}
	} else if (s->residency == OCLCP_RES_ALWAYS) {
		err = -VC_ENOSPC;
	}
	pthread_mutex_unlock(&s->lock);
	if (!x->resident && s->residency != OCLCP_RES_ALWAYS) {
		x->shadow = vc_os_zalloc(need);
		err = x->shadow ? 0 : -VC_ENOMEM;
	}
	if (err) {
		vc_os_free(x);
		return err;
	}
	*out = x;
	return 0;
}

void oclcp_ctx_free(struct oclcp_ctx *x)
{
	struct oclcp *s;

	if (!x)
		return;
	s = x->dev;
	pthread_mutex_lock(&s->lock);
	oclcp_wait_phase(s);
	for (unsigned int i = 0, n = s->nr_ev; i < n; i++) {
		if (s->evq[i].tag == x->tag)
			s->nr_ev--;
		else
			s->evq[i - (n - s->nr_ev)] = s->evq[i];
	}
	if (s->owner == x) {
		if (s->loaded)
			oclcp_abandon(s);
		s->started = false;
		s->loaded = false;
		oclcp_scrub(&s->live, sizeof(s->live));
		s->owner = NULL;
	}
	if (s->livebuf_owner == x) {
		/* The live buffers keep nothing of it. */
		(void)oclcp_cl_zero(s, s->live_scratch, 0, s->ctx_size);
		(void)oclcp_cl_zero(s, s->live_keys, 0, OCLCP_KEYS_BYTES);
		memset(s->livebuf_dirty, 0, sizeof(s->livebuf_dirty));
		s->livebuf_owner = NULL;
	}
	/* Transfers into its host copy are done before it goes. */
	clFinish(s->q);
	if (x->resident) {
		(void)oclcp_cl_zero(s, x->scratch, 0, s->ctx_size);
		(void)oclcp_cl_zero(s, x->keys, 0, OCLCP_KEYS_BYTES);
		clReleaseMemObject(x->scratch);
		clReleaseMemObject(x->keys);
		s->resident_used -= (uint64_t)s->ctx_size + OCLCP_KEYS_BYTES;
	}
	pthread_mutex_unlock(&s->lock);
	if (x->shadow) {
		oclcp_scrub(x->shadow, (size_t)s->ctx_size + OCLCP_KEYS_BYTES);
		vc_os_free(x->shadow);
	}
	oclcp_scrub(x, sizeof(*x));
	vc_os_free(x);
}

bool oclcp_ctx_resident(const struct oclcp_ctx *x)
{
	return x->resident;
}

bool oclcp_has_work(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	bool ret;

	pthread_mutex_lock(&s->lock);
	ret = oclcp_state_has_work(s->loaded && s->owner == x ? &s->live : &x->st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

uint64_t oclcp_progress(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	uint64_t ret;

	pthread_mutex_lock(&s->lock);
	ret = (s->loaded && s->owner == x ? &s->live : &x->st)->completed;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- the switch protocol --------------------------------------------- */

int oclcp_stop(struct oclcp_ctx *x, vc_time_t *retry_after)
{
	struct oclcp *s = x->dev;
	struct oclcp_inflight *f = &s->cur;
	vc_time_t now, rest = 0;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x || !s->started)
		goto out;
	now = oclcp_now();
	if (f->phase == OCLCP_PH_SUBMIT || f->phase == OCLCP_PH_KERNEL ||
	    f->phase == OCLCP_PH_READBACK) {
		vc_time_t expected = f->expected_end - f->start, ran = now - f->start;

		if (ran > s->overrun_factor * expected + s->overrun_slack) {
			ret = -VC_ETIMEDOUT; /* hung: the framework resets the context */
			goto out;
		}
		/* Its expected rest; past that, a share of what it has run. */
		rest = f->expected_end > now ? f->expected_end - now
					     : VC_MIN(VC_MAX(ran / 16, VC_USEC(50)), VC_MSEC(1));
		rest += oclcp_np_rest(s);
	} else if (f->phase == OCLCP_PH_POLL && (f->cmd.flags & SIMCP_F_NOPREEMPT)) {
		rest = OCLCP_POLL_NS; /* a non-preemptible WAIT: the framework finds the hang */
	} else if (s->np_open) {
		rest = oclcp_np_rest(s);
	}
	if (rest) {
		*retry_after = rest;
		s->retry_at = now + rest;
		s->stop_wanted = true;
		s->hold_until = VC_TIME_INF; /* until the kernel ends, then hold_ns */
		ret = -VC_EAGAIN;
		goto out;
	}
	/* At a boundary; a polling WAIT restarts when loaded again. */
	f->phase = OCLCP_PH_NONE;
	s->started = false;
	s->stop_wanted = false;
	s->np_open = false;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

uint64_t oclcp_move_out(struct oclcp *s, struct oclcp_ctx *x)
{
	uint64_t bytes = OCLCP_KEYS_BYTES;

	for (unsigned int p = 0; p < s->nr_pages; p++) {
		unsigned int q = p;

		if (!oclcp_page_dirty(&s->live, p))
			continue;
		while (q + 1 < s->nr_pages && oclcp_page_dirty(&s->live, q + 1))
			q++;
		(void)clEnqueueReadBuffer(s->q, s->live_scratch, CL_FALSE,
					  (size_t)p * OCLCP_PAGE_SIZE,
					  (size_t)(q - p + 1) * OCLCP_PAGE_SIZE,
					  x->shadow + (size_t)p * OCLCP_PAGE_SIZE, 0, NULL, NULL);
		bytes += (uint64_t)(q - p + 1) * OCLCP_PAGE_SIZE;
		p = q;
	}
	(void)clEnqueueReadBuffer(s->q, s->live_keys, CL_FALSE, 0, OCLCP_KEYS_BYTES,
				  x->shadow + s->ctx_size, 0, NULL, NULL);
	return bytes;
}

/* Pages @x wrote are written; pages only the live buffer holds are zeroed. */
uint64_t oclcp_move_in(struct oclcp *s, struct oclcp_ctx *x)
{
	static const cl_uchar zero;
	uint64_t bytes = OCLCP_KEYS_BYTES;

	for (unsigned int p = 0; p < s->nr_pages; p++) {
		size_t off = (size_t)p * OCLCP_PAGE_SIZE;

		if (oclcp_page_dirty(&x->st, p)) {
			unsigned int q = p;

			while (q + 1 < s->nr_pages && oclcp_page_dirty(&x->st, q + 1))
				q++;
			(void)clEnqueueWriteBuffer(s->q, s->live_scratch, CL_FALSE, off,
						   (size_t)(q - p + 1) * OCLCP_PAGE_SIZE,
						   x->shadow + off, 0, NULL, NULL);
			bytes += (uint64_t)(q - p + 1) * OCLCP_PAGE_SIZE;
			p = q;
		} else if (s->livebuf_dirty[p / 64] >> (p % 64) & 1) {
			(void)clEnqueueFillBuffer(s->q, s->live_scratch, &zero, 1, off,
						  OCLCP_PAGE_SIZE, 0, NULL, NULL);
		}
	}
	(void)clEnqueueWriteBuffer(s->q, s->live_keys, CL_FALSE, 0, OCLCP_KEYS_BYTES,
				   x->shadow + s->ctx_size, 0, NULL, NULL);
	(void)clFlush(s->q);
	memcpy(s->livebuf_dirty, x->st.dirty, sizeof(s->livebuf_dirty));
	s->livebuf_owner = x;
	return bytes;
}

static void charge_move(struct oclcp *s, uint64_t bytes)
{
	vc_time_t now = oclcp_now(), t = ps_ns(bytes, s->ps_xfer) + s->overhead_ns;

	s->busy_until = (s->busy_until > now ? s->busy_until : now) + t;
	s->stats.ctx_bytes_moved += bytes;
	s->stats.ctx_move_ns += t;
}

int oclcp_save(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x) {
		ret = -VC_EINVAL;
	} else if (s->started || (s->cur.phase != OCLCP_PH_NONE && s->cur.phase != OCLCP_PH_POLL)) {
		ret = -VC_EBUSY;
	} else {
		s->cur.phase = OCLCP_PH_NONE;
		if (!x->resident) {
			charge_move(s, oclcp_move_out(s, x));
			memcpy(s->livebuf_dirty, s->live.dirty, sizeof(s->livebuf_dirty));
		}
		x->st = s->live;
		s->loaded = false;
		s->stats.saves++;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int oclcp_set_iommu(struct oclcp *s, const struct vc_iommu *io)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->started || s->cur.phase == OCLCP_PH_SUBMIT || s->cur.phase == OCLCP_PH_KERNEL ||
	    s->cur.phase == OCLCP_PH_READBACK)
		ret = -VC_EBUSY;
	else
		s->iommu = io;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int oclcp_load(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->loaded) {
		if (s->owner != x || s->started)
			ret = -VC_EBUSY;
		goto out;
	}
	if (!x->resident)
		charge_move(s, oclcp_move_in(s, x));
	s->live = x->st;
	s->owner = x;
	s->loaded = true;
	s->started = false;
	s->stop_wanted = false;
	s->idle_reported = false;
	s->np_open = false;
	s->cur.phase = OCLCP_PH_NONE;
	s->stats.loads++;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int oclcp_start(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x) {
		ret = -VC_EINVAL;
	} else if (!s->started) {
		s->started = true;
		s->idle_reported = false;
		s->stop_wanted = false;
		oclcp_kick(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int oclcp_reset(struct oclcp_ctx *x)
{
	struct oclcp *s = x->dev;
	struct oclcp_state *st = &x->st;

	pthread_mutex_lock(&s->lock);
	oclcp_wait_phase(s);
	if (s->loaded && s->owner == x) {
		oclcp_abandon(s);
		s->started = false;
		s->stop_wanted = false;
		st = &s->live;
	}
	oclcp_hang_reset(st);
	s->stats.resets++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
