// SPDX-License-Identifier: MIT
/*
 * The mock device loop of the scheduler tests (see harness.h).  It mirrors
 * what core/switch.c does around the hooks, without the platform.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static char getbuf[VC_PARAM_VAL_MAX];
static char dumpbuf[1 << 16];
static size_t dumplen;

uint64_t h_rand(struct harness *h)
{
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545f4914f6cdd1dull;
}

void h_init(struct harness *h, const struct vc_sched_ops *ops, vc_time_t switch_cost,
	    vc_time_t max_nonpreempt)
{
	memset(h, 0, sizeof(*h));
	h->c = calloc(1, sizeof(*h->c));
	assert_non_null(h->c);
	strcpy(h->c->name, "mock0");
	h->c->desc.name = h->c->name;
	h->c->desc.switch_cost = switch_cost;
	h->c->desc.max_nonpreempt = max_nonpreempt;
	vc_list_init(&h->c->vcoprocs);
	/* The hooks assert the coproc lock: the harness holds it throughout. */
	h->c->lock = vc_os_lock_create();
	assert_non_null(h->c->lock);
	vc_os_lock(h->c->lock);
	h->rng = 0x9e3779b97f4a7c15ull;
	assert_int_equal(vc_sched_instance_init(&h->s, h->c, ops), 0);
	h->c->sched = h->s;
}

static void h_charge(struct harness *h)
{
	if (h->curr && h->curr->awake && h->now > h->run_since && h->s.ops->charge)
		h->s.ops->charge(&h->s, &h->curr->v, h->now - h->run_since, h->now);
	h->run_since = h->now;
}

static void h_free_vc(struct harness *h, struct h_vc *x)
{
	h->vc[x->idx] = NULL;
	free(x);
}

void h_remove(struct harness *h, struct h_vc *x)
{
	if (h->curr == x) {
		h_charge(h);
		h->curr = NULL;
	}
	if (x->awake) {
		x->awake = false;
		h->s.ops->sleep(&h->s, &x->v, h->now);
	}
	h->s.ops->free_vdata(&h->s, &x->v, x->v.sched_priv);
	h_free_vc(h, x);
}

void h_fini(struct harness *h)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (h->vc[i])
			h_remove(h, h->vc[i]);
	h->s.ops->deinit(&h->s);
	vc_os_unlock(h->c->lock);
	vc_os_lock_destroy(h->c->lock);
	free(h->c);
	h->c = NULL;
}

static int h_vadd(struct harness *h, struct h_vc **out, uint32_t domid, const char *name,
		  va_list ap)
{
	struct h_vc *x = calloc(1, sizeof(*x));
	const char *kv;
	int err;

	assert_non_null(x);
	assert_true(h->nr < H_MAX_VC);
	x->idx = h->nr;
	x->d.domid = domid;
	snprintf(x->d.name, sizeof(x->d.name), "%s", name);
	vc_list_init(&x->d.vcoprocs);
	x->v.id = 100 + h->nr;
	x->v.dom = &x->d;
	x->v.coproc = h->c;
	x->v.state = VC_VS_SLEEPING;
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		struct vc_param *p = &x->v.params[x->v.nr_params++];

		assert_non_null(eq);
		assert_true(x->v.nr_params <= VC_VCOPROC_MAX_PARAMS);
		snprintf(p->key, sizeof(p->key), "%.*s", (int)(eq - kv), kv);
		snprintf(p->val, sizeof(p->val), "%s", eq + 1);
	}
	err = h->s.ops->alloc_vdata(&h->s, &x->v, &x->v.sched_priv);
	if (err) {
		free(x);
		return err;
	}
	h->vc[h->nr++] = x;
	*out = x;
	return 0;
}

int h_add(struct harness *h, struct h_vc **out, uint32_t domid, const char *name, ...)
{
	va_list ap;
	int err;

	va_start(ap, name);
	err = h_vadd(h, out, domid, name, ap);
	va_end(ap);
	return err;
}

struct h_vc *h_add_ok(struct harness *h, uint32_t domid, const char *name, ...)
{
	struct h_vc *x = NULL;
	va_list ap;

	va_start(ap, name);
	assert_int_equal(h_vadd(h, &x, domid, name, ap), 0);
	va_end(ap);
	return x;
}

/* ---- the device loop ------------------------------------------------------- */

static void h_log(struct harness *h, int idx, vc_time_t from, vc_time_t to)
{
	struct h_seg *last = h->nr_seg ? &h->seg[h->nr_seg - 1] : NULL;

	if (from == to)
		return;
	if (last && last->idx == idx && last->to == from) {
		last->to = to;
		return;
	}
	if (h->nr_seg < H_MAX_SEGS)
		h->seg[h->nr_seg++] = (struct h_seg){ idx, from, to };
}

/* Let time pass to @to with the device as it is. */
static void h_advance(struct harness *h, vc_time_t to)
{
	struct h_vc *x = h->curr;
	vc_time_t d = to - h->now;

	if (x && x->awake) {
		x->run_ns += d;
		if (x->work != H_FOREVER)
			x->work -= d;
		h_log(h, (int)x->idx, h->now, to);
	} else {
		h->idle_ns += d;
		h_log(h, -1, h->now, to);
	}
	h->now = to;
}

static vc_time_t h_refusal(struct harness *h, struct h_vc *prev, struct h_vc *next)
{
	if (h->retrying && !h->refuse_again)
		return 0; /* the section ended at the hint */
	if (h->refuse)
		return h->refuse(h, prev, next);
	if (h->refuse_pct && h_rand(h) % 100 < h->refuse_pct)
		return 1 + h_rand(h) % h->refuse_max;
	return 0;
}

static void h_decide(struct harness *h)
{
	struct vc_sched_decision d;
	struct h_vc *prev = h->curr, *next;
	vc_time_t retry;

	h_charge(h);
	d = h->s.ops->do_schedule(&h->s, h->now, prev ? &prev->v : NULL);
	h->decisions++;
	assert_true(d.slice > 0);
	next = d.next ? vc_container_of(d.next, struct h_vc, v) : NULL;
	assert_true(!next || next->awake); /* must be runnable */
	h->deadline = d.slice == VC_TIME_INF ? VC_TIME_INF : h->now + d.slice;

	if (next == prev || (!next && (!prev || !prev->awake))) {
		h->retrying = false;
		return; /* keep what is loaded */
	}
	retry = prev && prev->awake ? h_refusal(h, prev, next) : 0;
	if (retry) {
		h->refusals++;
		h->retrying = true;
		if (h->s.ops->switch_result)
			h->s.ops->switch_result(&h->s, &prev->v, next ? &next->v : NULL,
						-VC_EAGAIN, retry, h->now);
		h->deadline = h->now + retry;
		return;
	}
	h->retrying = false;
	if (h->switch_time && prev && prev->awake) {
		/* The stop completes later; prev finishes its command meanwhile. */
		vc_time_t done = h->now + h->switch_time;

		if (prev->work != H_FOREVER && prev->work < h->switch_time)
			done = h->now + prev->work;
		h_advance(h, done);
		h_charge(h);
		if (!prev->work) {
			prev->awake = false;
			h->s.ops->sleep(&h->s, &prev->v, h->now);
		}
	}
	h->curr = next;
	h->run_since = h->now;
	if (!next)
		return; /* the engine reports no switch to an idle device */
	h->switches++;
	next->picks++;
	if (h->s.ops->switch_result)
		h->s.ops->switch_result(&h->s, prev ? &prev->v : NULL, &next->v, 0, 0, h->now);
	if (h->switch_time)
		h->deadline = h->now; /* the engine decides again after a slow stop */
}

void h_reschedule(struct harness *h)
{
	h_decide(h);
}

void h_run(struct harness *h, vc_time_t dt)
{
	vc_time_t end = h->now + dt;
	unsigned int spins = 0;

	while (h->now < end) {
		struct h_vc *x = h->curr;
		vc_time_t t;

		if (h->now >= h->deadline) {
			assert_true(++spins < 100); /* decisions must make progress */
			h_decide(h);
			continue;
		}
		spins = 0;
		t = VC_MIN(h->deadline, end);
		if (x && x->awake && x->work != H_FOREVER)
			t = VC_MIN(t, h->now + x->work);
		h_advance(h, t);
		if (x && x->awake && !x->work) {
			/* Out of work: charged, asleep, and the device is revisited. */
			h_charge(h);
			x->awake = false;
			h->s.ops->sleep(&h->s, &x->v, h->now);
			h_decide(h);
		}
	}
}

void h_wake(struct harness *h, struct h_vc *x, vc_time_t work)
{
	struct h_vc *curr = h->curr;
	bool tickle;

	x->work = work;
	if (x->awake)
		return;
	x->awake = true;
	if (curr == x)
		h->run_since = h->now;
	tickle = h->s.ops->wake(&h->s, &x->v, h->now);
	if (tickle || !curr || curr == x || !curr->awake)
		h_decide(h);
}

void h_sleep(struct harness *h, struct h_vc *x)
{
	if (!x->awake)
		return;
	if (h->curr == x)
		h_charge(h);
	x->awake = false;
	h->s.ops->sleep(&h->s, &x->v, h->now);
	if (h->curr == x)
		h_decide(h);
}

/* ---- parameters and state ------------------------------------------------------ */

int h_set(struct harness *h, struct h_vc *x, const char *key, const char *val)
{
	int err;

	h_charge(h);
	err = h->s.ops->set_param(&h->s, x ? &x->v : NULL, key, val);
	if (!err)
		h_decide(h);
	return err;
}

const char *h_get(struct harness *h, struct h_vc *x, const char *key)
{
	struct vc_param p[16];
	unsigned int n = h->s.ops->get_params(&h->s, x ? &x->v : NULL, p, 16);

	assert_true(n <= 16);
	for (unsigned int i = 0; i < n; i++) {
		if (!strcmp(p[i].key, key)) {
			snprintf(getbuf, sizeof(getbuf), "%s", p[i].val);
			return getbuf;
		}
	}
	return NULL;
}

unsigned int h_nparams(struct harness *h, struct h_vc *x)
{
	return h->s.ops->get_params(&h->s, x ? &x->v : NULL, NULL, 0);
}

static int dump_write(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	if (dumplen + len >= sizeof(dumpbuf))
		return -VC_ENOSPC;
	memcpy(dumpbuf + dumplen, buf, len);
	dumplen += len;
	dumpbuf[dumplen] = '\0';
	return 0;
}

uint32_t h_share(struct harness *h, struct h_vc *x)
{
	uint32_t ppb = VC_SHARE_ONE + 1;

	assert_non_null(h->s.ops->expected_share);
	assert_int_equal(h->s.ops->expected_share(&h->s, &x->v, &ppb), 0);
	assert_true(ppb <= VC_SHARE_ONE);
	return ppb;
}

const char *h_dump(struct harness *h)
{
	struct vc_printer p = { .write = dump_write };

	dumplen = 0;
	dumpbuf[0] = '\0';
	h->s.ops->dump(&h->s, &p);
	assert_int_equal(p.err, 0);
	return dumpbuf;
}

void h_clear_stats(struct harness *h)
{
	for (unsigned int i = 0; i < h->nr; i++) {
		if (!h->vc[i])
			continue;
		h->vc[i]->run_ns = 0;
		h->vc[i]->picks = 0;
		memset(&h->vc[i]->v.stats, 0, sizeof(h->vc[i]->v.stats));
	}
	h->decisions = h->switches = h->refusals = 0;
	h->idle_ns = 0;
	h->nr_seg = 0;
}

int h_running_at(const struct harness *h, vc_time_t t)
{
	for (unsigned int i = 0; i < h->nr_seg; i++)
		if (h->seg[i].from <= t && t < h->seg[i].to)
			return h->seg[i].idx;
	return -2; /* not recorded */
}
