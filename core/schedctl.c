// SPDX-License-Identifier: MIT
/*
 * DOC: scheduler registry and control
 *
 * The table of built-in algorithms (each behind a build option), the
 * helpers algorithms use, and the run-time control of a coprocessor's
 * scheduler: changing algorithm and parameters while vcoprocs run.
 *
 * Expected shares (vc_vcoproc_expected_share): what the algorithm promises
 * each vcoproc, from its expected_share() hook, under the coproc lock; the
 * core only normalizes it over the vcoprocs of the coprocessor (one hook
 * call per vcoproc).  No policy lives outside sched/.
 *
 * Changing algorithm (vc_coproc_sched_set): under the coproc lock, a new
 * instance is initialised, gets the instance parameters given earlier to
 * an instance of the same algorithm, and admits every vcoproc (reading its
 * parameter list); only if all are admitted does it replace the old one,
 * which is then torn down.  So parameters survive a round trip (credit
 * with slice=3ms -> rr -> credit has slice=3ms again), as per-vcoproc
 * ones do; an algorithm never seen before starts at its defaults.  Runnable vcoprocs are woken in the new instance and the
 * coprocessor reschedules at once.  The context on the device stays there:
 * no vcoproc and no work is lost.
 */
#include "vcoproc-config.h"
#include "internal.h"
#include "switch.h"
#include "../sched/common.h" /* vc_sched_lock_held() */

static const struct vc_sched_ops *const algos[] = {
#if VC_CONFIG_SCHED_CREDIT
	&vc_sched_credit_ops,
#endif
#if VC_CONFIG_SCHED_RR
	&vc_sched_rr_ops,
#endif
#if VC_CONFIG_SCHED_RTDS
	&vc_sched_rtds_ops,
#endif
#if VC_CONFIG_SCHED_ARINC653
	&vc_sched_arinc653_ops,
#endif
};

static const char *const algo_names[] = {
#if VC_CONFIG_SCHED_CREDIT
	"credit",
#endif
#if VC_CONFIG_SCHED_RR
	"rr",
#endif
#if VC_CONFIG_SCHED_RTDS
	"rtds",
#endif
#if VC_CONFIG_SCHED_ARINC653
	"arinc653",
#endif
	NULL,
};

const struct vc_sched_ops *vc_sched_lookup(const char *name)
{
	if (!name)
		name = VC_CONFIG_SCHED_DEFAULT;
	for (size_t i = 0; i < VC_ARRAY_SIZE(algos); i++)
		if (!vc_strcmp(algos[i]->name, name))
			return algos[i];
	return NULL;
}

const char *const *vc_sched_algos(void)
{
	return algo_names;
}

bool vc_sched_vcoproc_key_known(const char *key)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(algos); i++) {
		const char *const *k = algos[i]->vcoproc_params;

		for (; k && *k; k++)
			if (!vc_strcmp(*k, key))
				return true;
	}
	return false;
}

/* ---- helpers for algorithms --------------------------------------------- */

void *vc_sched_vdata(const struct vc_vcoproc *v)
{
	return v->sched_priv;
}

int vc_vcoproc_param_refused(struct vc_vcoproc *v, const char *key)
{
	v->refused_param = -1;
	for (unsigned int i = 0; i < v->nr_params; i++)
		if (!vc_strcmp(v->params[i].key, key))
			v->refused_param = (int)i;
	return -VC_EINVAL;
}

const char *vc_vcoproc_param(const struct vc_vcoproc *v, const char *key)
{
	for (unsigned int i = 0; i < v->nr_params; i++)
		if (!vc_strcmp(v->params[i].key, key))
			return v->params[i].val;
	return NULL;
}

bool vc_sched_lock_held(const struct vc_sched *s)
{
	return vc_os_lock_held(s->coproc->lock);
}

void vc_sched_note_miss(struct vc_vcoproc *v)
{
	v->stats.deadline_misses++;
}

void vc_sched_note_jitter(struct vc_vcoproc *v, vc_time_t late)
{
	v->stats.jitter_ns += late;
	if (late > v->stats.jitter_max_ns)
		v->stats.jitter_max_ns = late;
}

unsigned int vc_param_put(struct vc_param *out, unsigned int max, unsigned int i,
			  const char *key, const char *fmt, ...)
{
	va_list ap;

	if (i < max) {
		vc_strlcpy(out[i].key, key, sizeof(out[i].key));
		va_start(ap, fmt);
		vc_vsnprintf(out[i].val, sizeof(out[i].val), fmt, ap);
		va_end(ap);
	}
	return i + 1;
}

/* ---- instances ------------------------------------------------------------ */

int vc_sched_instance_init(struct vc_sched *s, struct vc_coproc *c,
			   const struct vc_sched_ops *ops)
{
	VC_ASSERT_LOCKED(c->lock);
	s->ops = ops;
	s->priv = NULL;
	s->coproc = c;
	return sched_init(s);
}

/* ---- instance parameters remembered per algorithm -------------------------- */

static const char *inst_val(const struct vc_inst_param *p)
{
	return p->kv + vc_strlen(p->kv) + 1;
}

/* The entry of @key for algorithm @ops, or NULL.  c->lock held. */
static struct vc_inst_param *inst_find(struct vc_coproc *c, const struct vc_sched_ops *ops,
				       const char *key)
{
	VC_ASSERT_LOCKED(c->lock);
	for (unsigned int i = 0; i < c->nr_inst; i++)
		if (c->inst[i].ops == ops && !vc_strcmp(c->inst[i].kv, key))
			return &c->inst[i];
	return NULL;
}

/* "key\0val" in memory of its own (vc_os_free()), or NULL. */
static char *inst_kv_new(const char *key, const char *val)
{
	size_t kl = vc_strlen(key), vl = vc_strlen(val);
	char *kv = vc_os_zalloc(kl + vl + 2);

	if (!kv)
		return NULL;
	vc_strlcpy(kv, key, kl + 1);
	vc_strlcpy(kv + kl + 1, val, vl + 1);
	return kv;
}

/*
 * Give new instance @s of @c the parameters remembered for its algorithm,
 * in the order they were first given.  c->lock held.  0 or the error of
 * the one it refuses.
 */
static int inst_reapply(struct vc_coproc *c, struct vc_sched *s)
{
	int err;

	VC_ASSERT_LOCKED(c->lock);
	for (unsigned int i = 0; i < c->nr_inst; i++) {
		const struct vc_inst_param *p = &c->inst[i];

		if (p->ops != s->ops)
			continue;
		err = sched_set_param(s, NULL, p->kv, inst_val(p));
		if (err) {
			vc_log(VC_LOG_ERR, "%s: %s refuses its earlier %s=%s: %s", c->name,
			       s->ops->name, p->kv, inst_val(p), vc_strerror(err));
			return err;
		}
	}
	return 0;
}

void vc_coproc_inst_params_free(struct vc_coproc *c)
{
	for (unsigned int i = 0; i < c->nr_inst; i++)
		vc_os_free(c->inst[i].kv);
	c->nr_inst = 0;
}

/*
 * Admit every vcoproc of @c into @s, storing the vdata in @vdata[slot].
 * c->lock held.
 */
static int admit_all(struct vc_coproc *c, struct vc_sched *s, void **vdata)
{
	struct vc_vcoproc *v;
	int err;

	VC_ASSERT_LOCKED(c->lock);
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		err = sched_alloc_vdata(s, v, &vdata[v->slot]);
		if (err)
			goto out_free;
	}
	return 0;

out_free:
	for (v = vc_list_entry(v->cnode.prev, struct vc_vcoproc, cnode);
	     &v->cnode != &c->vcoprocs;
	     v = vc_list_entry(v->cnode.prev, struct vc_vcoproc, cnode)) {
		sched_free_vdata(s, v, vdata[v->slot]);
		vdata[v->slot] = NULL;
	}
	return err;
}

int vc_coproc_sched_set(struct vc_coproc *c, const char *algo)
{
	const struct vc_sched_ops *ops = vc_sched_lookup(algo);
	struct vc_sched old, s;
	struct vc_vcoproc *v;
	void **vdata;
	vc_time_t now;
	int err;

	if (!ops || !algo)
		return -VC_ENOENT;
	if (c->desc.passthrough)
		return -VC_EPERM; /* reserved for one domain: never scheduled */
	vdata = vc_os_zalloc(sizeof(*vdata) * VC_MAX_VCOPROCS_PER_COPROC);
	if (!vdata)
		return -VC_ENOMEM;

	vc_os_lock(c->lock);
	now = vc_os_now();
	err = vc_sched_instance_init(&s, c, ops);
	if (err)
		goto out_unlock;
	err = inst_reapply(c, &s);
	if (err)
		goto out_deinit;
	err = admit_all(c, &s, vdata);
	if (err)
		goto out_deinit;

	/* Close the running vcoproc's accounting in the old instance. */
	vc_coproc_charge_curr(c, now);
	old = c->sched;
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		if (v->has_work)
			sched_sleep(&old, v, now);
		sched_free_vdata(&old, v, v->sched_priv);
		v->sched_priv = vdata[v->slot];
	}
	sched_deinit(&old);
	c->sched = s;
	c->sched.coproc = c;
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode)
		if (v->has_work)
			sched_wake(&c->sched, v, now);
	vc_log(VC_LOG_INFO, "%s: scheduler %s -> %s", c->name, old.ops->name, ops->name);
	vc_coproc_reschedule(c, now);
	vc_os_unlock(c->lock);
	vc_os_free(vdata);
	return 0;

out_deinit:
	sched_deinit(&s);
out_unlock:
	vc_os_unlock(c->lock);
	vc_os_free(vdata);
	return err;
}

const char *vc_coproc_sched_name(struct vc_coproc *c)
{
	const char *name;

	/* c->sched changes under the lock (vc_coproc_sched_set). */
	vc_os_lock(c->lock);
	name = c->sched.ops->name; /* ops tables are static */
	vc_os_unlock(c->lock);
	return name;
}

int vc_coproc_param_set(struct vc_coproc *c, const char *key, const char *val)
{
	struct vc_inst_param *p;
	char *kv;
	int err;

	if (!key || !val)
		return -VC_EINVAL;
	kv = inst_kv_new(key, val); /* kept for the algorithm's next instance */
	if (!kv)
		return -VC_ENOMEM;
	vc_os_lock(c->lock);
	p = inst_find(c, c->sched.ops, key);
	err = -VC_E2BIG;
	if (!p && c->nr_inst == VC_COPROC_MAX_INST_PARAMS)
		goto out_unlock;
	vc_coproc_charge_curr(c, vc_os_now());
	err = sched_set_param(&c->sched, NULL, key, val);
	if (err)
		goto out_unlock;
	if (!p) {
		p = &c->inst[c->nr_inst++];
		p->ops = c->sched.ops;
	} else {
		vc_os_free(p->kv);
	}
	p->kv = kv;
	kv = NULL;
	vc_coproc_reschedule(c, vc_os_now());
out_unlock:
	vc_os_unlock(c->lock);
	vc_os_free(kv);
	return err;
}

unsigned int vc_coproc_params(struct vc_coproc *c, struct vc_param *out, unsigned int max)
{
	unsigned int n;

	vc_os_lock(c->lock);
	n = sched_get_params(&c->sched, NULL, out, max);
	vc_os_unlock(c->lock);
	return n;
}

/* Store key=val in @v's list (replacing an old value).  c->lock held. */
static int vcoproc_param_store(struct vc_vcoproc *v, const char *key, const char *val)
{
	unsigned int i;

	VC_ASSERT_LOCKED(v->coproc->lock);
	if (vc_strlen(key) >= VC_PARAM_KEY_MAX || vc_strlen(val) >= VC_PARAM_VAL_MAX)
		return -VC_E2BIG;
	for (i = 0; i < v->nr_params; i++)
		if (!vc_strcmp(v->params[i].key, key))
			break;
	if (i == v->nr_params) {
		if (v->nr_params == VC_VCOPROC_MAX_PARAMS)
			return -VC_ENOSPC;
		v->nr_params++;
	}
	vc_strlcpy(v->params[i].key, key, sizeof(v->params[i].key));
	vc_strlcpy(v->params[i].val, val, sizeof(v->params[i].val));
	return 0;
}

int vc_vcoproc_param_set(struct vc_vcoproc *v, const char *key, const char *val)
{
	struct vc_coproc *c = v->coproc;
	struct vc_param saved[VC_VCOPROC_MAX_PARAMS];
	unsigned int nr_saved;
	int err;

	if (!key || !val)
		return -VC_EINVAL;
	vc_os_lock(c->lock);
	/* Keep the list first: the algorithm may read it back. */
	nr_saved = v->nr_params;
	for (unsigned int i = 0; i < nr_saved; i++)
		saved[i] = v->params[i];
	err = vcoproc_param_store(v, key, val);
	if (err)
		goto out_unlock;
	vc_coproc_charge_curr(c, vc_os_now());
	err = sched_set_param(&c->sched, v, key, val);
	if (err) {
		for (unsigned int i = 0; i < nr_saved; i++)
			v->params[i] = saved[i];
		v->nr_params = nr_saved;
		goto out_unlock;
	}
	vc_coproc_reschedule(c, vc_os_now());
out_unlock:
	vc_os_unlock(c->lock);
	return err;
}

unsigned int vc_vcoproc_params(struct vc_vcoproc *v, struct vc_param *out, unsigned int max)
{
	unsigned int n;

	vc_os_lock(v->coproc->lock);
	n = sched_get_params(&v->coproc->sched, v, out, max);
	vc_os_unlock(v->coproc->lock);
	return n;
}

int vc_coproc_dump(struct vc_coproc *c, struct vc_printer *p)
{
	struct vc_strbuf sb = { 0 };
	struct vc_printer bp = vc_strbuf_printer(&sb);

	/* Render under the lock, print after: the printer may be slow. */
	vc_os_lock(c->lock);
	vc_pr(&bp, "coproc %s: algorithm %s, %u vcoprocs, current %u\n", c->name,
	      c->sched.ops->name, c->nr_vcoprocs, c->curr ? c->curr->id : 0);
	sched_dump(&c->sched, &bp);
	vc_os_unlock(c->lock);
	if (!bp.err && !p->err && sb.len)
		p->err = p->write(p->opaque, sb.buf, sb.len);
	vc_strbuf_free(&sb);
	return bp.err ? bp.err : p->err;
}

/* ---- expected shares -------------------------------------------------------- */

/*
 * The device share of every vcoproc of @c into @ppb[slot], and their sum
 * into *@sum.  c->lock held.  0 or the hook's error.
 */
static int expected_device_shares(struct vc_coproc *c, uint32_t *ppb, uint64_t *sum)
{
	struct vc_vcoproc *v;
	int err;

	VC_ASSERT_LOCKED(c->lock);
	*sum = 0;
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		err = sched_expected_share(&c->sched, v, &ppb[v->slot]);
		if (err)
			return err;
		if (ppb[v->slot] > VC_SHARE_ONE)
			ppb[v->slot] = VC_SHARE_ONE;
		*sum += ppb[v->slot];
	}
	return 0;
}

/*
 * @device over @sum (device <= sum) in parts per billion, rounded to
 * nearest.  device * 10^9 <= 10^18 and sum <= 2^12 * 10^9: no overflow.
 */
static uint32_t run_share(uint32_t device, uint64_t sum)
{
	if (!sum)
		return 0;
	return (uint32_t)(((uint64_t)device * VC_SHARE_ONE + sum / 2) / sum);
}

int vc_vcoproc_expected_share(struct vc_vcoproc *v, struct vc_share *out)
{
	struct vc_coproc *c = v->coproc;
	struct vc_vcoproc *o;
	uint64_t sum = 0;
	uint32_t mine = 0, ppb;
	int err = 0;

	*out = (struct vc_share){ 0 };
	vc_os_lock(c->lock);
	vc_list_for_each_entry(o, &c->vcoprocs, struct vc_vcoproc, cnode) {
		err = sched_expected_share(&c->sched, o, &ppb);
		if (err)
			goto out_unlock;
		ppb = VC_MIN(ppb, VC_SHARE_ONE);
		if (o == v)
			mine = ppb;
		sum += ppb;
	}
	out->device_ppb = mine;
	out->run_ppb = run_share(mine, sum);
out_unlock:
	vc_os_unlock(c->lock);
	return err;
}

int vc_coproc_expected_shares(struct vc_coproc *c, struct vc_vcoproc **vs,
			      struct vc_share *out, unsigned int max)
{
	struct vc_vcoproc *v;
	unsigned int n = 0;
	uint32_t *ppb;
	uint64_t sum;
	int err;

	ppb = vc_os_zalloc(sizeof(*ppb) * VC_MAX_VCOPROCS_PER_COPROC);
	if (!ppb)
		return -VC_ENOMEM;
	vc_os_lock(c->lock);
	err = expected_device_shares(c, ppb, &sum);
	if (err)
		goto out_unlock;
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		if (n < max) {
			vs[n] = v;
			out[n].device_ppb = ppb[v->slot];
			out[n].run_ppb = run_share(ppb[v->slot], sum);
		}
		n++;
	}
	err = (int)n;
out_unlock:
	vc_os_unlock(c->lock);
	vc_os_free(ppb);
	return err;
}
