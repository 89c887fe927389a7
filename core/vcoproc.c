// SPDX-License-Identifier: MIT
/*
 * DOC: the life of a vcoproc
 *
 * Creation asks the platform for a fresh context and the algorithm for
 * admission, and undoes both if either fails; destruction takes the
 * context off the device (resetting it if the device will not stop),
 * leaves the scheduler and frees the context, while the other vcoprocs go
 * on.
 */
#include "internal.h"
#include "switch.h"

/* Take @params; on a bad one, its index goes to v->refused_param. */
static int copy_params(struct vc_vcoproc *v, const struct vc_param *params,
		       unsigned int nr)
{
	if (nr > VC_VCOPROC_MAX_PARAMS)
		return -VC_E2BIG;
	for (unsigned int i = 0; i < nr; i++) {
		const struct vc_param *p = &params[i];
		size_t kl = 0, vl = 0;

		v->refused_param = (int)i;
		while (kl < sizeof(p->key) && p->key[kl])
			kl++;
		while (vl < sizeof(p->val) && p->val[vl])
			vl++;
		if (!kl || kl == sizeof(p->key) || vl == sizeof(p->val))
			return -VC_EINVAL;
		if (!vc_sched_vcoproc_key_known(p->key))
			return -VC_ENOENT;
		v->params[i] = *p;
	}
	v->nr_params = nr;
	v->refused_param = -1;
	return 0;
}

static int alloc_slot(struct vc_coproc *c, unsigned int *slot)
{
	for (unsigned int i = 0; i < VC_MAX_VCOPROCS_PER_COPROC; i++) {
		if (!c->slots[i]) {
			*slot = i;
			return 0;
		}
	}
	return -VC_ENOSPC;
}

int vc_vcoproc_create(struct vc_domain *d, struct vc_coproc *c,
		      const struct vc_param *params, unsigned int nr_params,
		      struct vc_vcoproc **out, int *refused)
{
	struct vc_vcoproc *v, *it;
	int err;

	if (refused)
		*refused = -1;
	if (!d || !c || !out || (nr_params && !params))
		return -VC_EINVAL;
	v = vc_os_zalloc(sizeof(*v));
	if (!v)
		return -VC_ENOMEM;
	err = copy_params(v, params, nr_params);
	if (err)
		goto out_free;
	v->coproc = c;
	v->dom = d;
	v->state = VC_VS_SLEEPING;
	vc_list_init(&v->cnode);
	vc_list_init(&v->dnode);

	vc_os_lock(d->fw->lock);
	vc_os_lock(d->lock);
	err = -VC_EEXIST;
	vc_list_for_each_entry(it, &d->vcoprocs, struct vc_vcoproc, dnode)
		if (it->coproc == c)
			goto out_unlock_dom;
	v->id = ++d->fw->next_vcoproc_id;

	vc_os_lock(c->lock);
	err = alloc_slot(c, &v->slot);
	if (err)
		goto out_unlock_coproc;
	v->tag = (uint32_t)c->slot_gen[v->slot] << VC_TAG_SLOT_BITS | v->slot;
	err = plat_ctx_alloc(c, v->tag, &v->ctx);
	if (err)
		goto out_unlock_coproc;
	err = sched_alloc_vdata(&c->sched, v, &v->sched_priv);
	if (err)
		goto out_ctx;
	v->progress_base = plat_progress(c, v->ctx);
	c->slots[v->slot] = v;
	c->nr_vcoprocs++;
	vc_list_add_tail(&v->cnode, &c->vcoprocs);
	if (c->desc.passthrough)
		vc_coproc_own(c, v, vc_os_now());
	vc_os_unlock(c->lock);

	vc_list_add_tail(&v->dnode, &d->vcoprocs);
	vc_os_unlock(d->lock);
	vc_os_unlock(d->fw->lock);
	*out = v;
	return 0;

out_ctx:
	plat_ctx_free(c, v->ctx);
out_unlock_coproc:
	vc_os_unlock(c->lock);
out_unlock_dom:
	vc_os_unlock(d->lock);
	vc_os_unlock(d->fw->lock);
out_free:
	if (refused && (err == -VC_EINVAL || err == -VC_ENOENT))
		*refused = v->refused_param;
	vc_os_free(v);
	return err;
}

void vc_vcoproc_destroy(struct vc_vcoproc *v)
{
	struct vc_domain *d = v->dom;
	struct vc_coproc *c = v->coproc;
	vc_time_t now;

	vc_os_lock(d->fw->lock);
	vc_os_lock(d->lock);
	vc_list_del(&v->dnode);

	vc_os_lock(c->lock);
	now = vc_os_now();
	if (c->curr == v)
		vc_coproc_evict(c, v, now);
	if (v->has_work) {
		v->has_work = false;
		sched_sleep(&c->sched, v, now);
	}
	if (c->pending == v)
		c->pending = NULL;
	sched_free_vdata(&c->sched, v, v->sched_priv);
	v->sched_priv = NULL;
	c->slots[v->slot] = NULL;
	/* Late events for this tag become stale. */
	c->slot_gen[v->slot] = (c->slot_gen[v->slot] + 1) & ((1u << VC_TAG_GEN_BITS) - 1);
	c->nr_vcoprocs--;
	vc_list_del(&v->cnode);
	plat_ctx_free(c, v->ctx);
	vc_coproc_reschedule(c, now);
	vc_os_unlock(c->lock);

	vc_os_unlock(d->lock);
	vc_os_unlock(d->fw->lock);
	vc_os_free(v);
}

uint32_t vc_vcoproc_id(const struct vc_vcoproc *v)
{
	return v->id;
}

struct vc_domain *vc_vcoproc_domain(const struct vc_vcoproc *v)
{
	return v->dom;
}

struct vc_coproc *vc_vcoproc_coproc(const struct vc_vcoproc *v)
{
	return v->coproc;
}

enum vc_vstate vc_vcoproc_state(struct vc_vcoproc *v)
{
	enum vc_vstate s;

	vc_os_lock(v->coproc->lock);
	s = v->state;
	vc_os_unlock(v->coproc->lock);
	return s;
}
