// SPDX-License-Identifier: MIT
/*
 * DOC: passthrough - one domain owns the coprocessor
 *
 * A coprocessor registered with desc.passthrough is reserved for one
 * domain: it is not shared, and this is its scheduler - not an algorithm
 * anyone can choose for a shared coprocessor (vc_coproc_sched_set() is
 * refused on it, and vc_sched_lookup() does not know it).  It admits one
 * vcoproc (a second is -VC_EBUSY) with no parameters, and always decides
 * for it, with no slice: nothing is ever switched.  The engine loads the
 * owner's context when the vcoproc is created and keeps it on the device,
 * awake or asleep, so every register access of the owner is forwarded to
 * the live device and none is emulated; its interrupts and its DMA go
 * through its own context and IOMMU as on a shared coprocessor.  When the
 * owner goes, the engine resets its context on the device before taking
 * it off, and the platform scrubs it when it is freed
 * (vc_coproc_evict()), so the next owner finds nothing of it.
 *
 * Locking: every hook runs under the coproc lock; none takes a lock.
 */
#include "internal.h"

struct pt_priv {
	struct vc_vcoproc *owner;
	bool runnable;
};

static int pt_init(struct vc_sched *s)
{
	s->priv = vc_os_zalloc(sizeof(struct pt_priv));
	return s->priv ? 0 : -VC_ENOMEM;
}

static void pt_deinit(struct vc_sched *s)
{
	vc_os_free(s->priv);
	s->priv = NULL;
}

static int pt_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	struct pt_priv *p = s->priv;

	if (v->nr_params)
		return vc_vcoproc_param_refused(v, v->params[0].key);
	if (p->owner)
		return -VC_EBUSY;
	p->owner = v;
	p->runnable = false;
	*vdata = p;
	return 0;
}

static void pt_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	struct pt_priv *p = s->priv;

	if (p->owner == v)
		p->owner = NULL;
}

static bool pt_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	((struct pt_priv *)s->priv)->runnable = true;
	return true;
}

static void pt_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	((struct pt_priv *)s->priv)->runnable = false;
}

static struct vc_sched_decision pt_do_schedule(struct vc_sched *s, vc_time_t now,
					       struct vc_vcoproc *curr)
{
	struct pt_priv *p = s->priv;

	return (struct vc_sched_decision){ p->runnable ? p->owner : NULL, VC_TIME_INF };
}

static int pt_expected_share(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb)
{
	*ppb = VC_SHARE_ONE;
	return 0;
}

const struct vc_sched_ops vc_sched_passthrough_ops = {
	.name = "passthrough",
	.init = pt_init,
	.deinit = pt_deinit,
	.alloc_vdata = pt_alloc_vdata,
	.free_vdata = pt_free_vdata,
	.wake = pt_wake,
	.sleep = pt_sleep,
	.do_schedule = pt_do_schedule,
	.expected_share = pt_expected_share,
};
