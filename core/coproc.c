// SPDX-License-Identifier: MIT
/*
 * DOC: framework instance and coprocessor registry
 *
 * struct vc_fw holds the registered physical coprocessors and the domains.
 * A coprocessor is registered with the platform ops that drive it and gets
 * its own lock, timer and scheduler instance.
 */
#include "internal.h"
#include "switch.h"

int vc_fw_create(const struct vc_host_ops *hops, struct vc_fw **out)
{
	struct vc_fw *fw;

	if (!hops || !hops->irq_raise || !out)
		return -VC_EINVAL;
	fw = vc_os_zalloc(sizeof(*fw));
	if (!fw)
		return -VC_ENOMEM;
	fw->lock = vc_os_lock_create();
	if (!fw->lock) {
		vc_os_free(fw);
		return -VC_ENOMEM;
	}
	fw->hops = hops;
	vc_list_init(&fw->coprocs);
	vc_list_init(&fw->domains);
	*out = fw;
	return 0;
}

void vc_fw_destroy(struct vc_fw *fw)
{
	struct vc_domain *d, *dn;
	struct vc_coproc *c, *cn;

	if (!fw)
		return;
	vc_list_for_each_entry_safe(d, dn, &fw->domains, struct vc_domain, node)
		vc_domain_destroy(d);
	vc_list_for_each_entry_safe(c, cn, &fw->coprocs, struct vc_coproc, node)
		(void)vc_coproc_unregister(c);
	vc_os_lock_destroy(fw->lock);
	vc_os_free(fw);
}

static bool ops_complete(const struct vc_platform_ops *o)
{
	return o && o->ctx_alloc && o->ctx_free && o->stop && o->save &&
	       o->iommu_switch && o->load && o->start && o->reset &&
	       o->mmio_forward && o->mmio_emulate && o->has_work && o->progress;
}

static struct vc_coproc *find_locked(struct vc_fw *fw, const char *name)
{
	struct vc_coproc *c;

	vc_list_for_each_entry(c, &fw->coprocs, struct vc_coproc, node)
		if (!vc_strcmp(c->name, name))
			return c;
	return NULL;
}

int vc_coproc_register(struct vc_fw *fw, const struct vc_coproc_desc *desc,
		       struct vc_coproc **out)
{
	const struct vc_sched_ops *sops;
	struct vc_coproc *c;
	int err;

	if (!fw || !desc || !out || !desc->name || !desc->name[0] ||
	    vc_strlen(desc->name) >= VC_NAME_MAX || !ops_complete(desc->ops) ||
	    desc->nr_mmio > VC_COPROC_MAX_MMIO || desc->nr_irqs > VC_COPROC_MAX_IRQS ||
	    (desc->compatible && vc_strlen(desc->compatible) >= sizeof(c->compatible)))
		return -VC_EINVAL;
	for (unsigned int i = 0; i < desc->nr_mmio; i++)
		if (!desc->mmio[i].size || desc->mmio[i].base + desc->mmio[i].size <
		    desc->mmio[i].base)
			return -VC_EINVAL;
	if (desc->passthrough) {
		if (desc->sched && vc_strcmp(desc->sched, vc_sched_passthrough_ops.name))
			return -VC_EINVAL; /* a reserved device is not scheduled */
		sops = &vc_sched_passthrough_ops;
	} else {
		sops = vc_sched_lookup(desc->sched);
		if (!sops)
			return -VC_ENOENT;
	}

	c = vc_os_zalloc(sizeof(*c));
	if (!c)
		return -VC_ENOMEM;
	c->fw = fw;
	c->desc = *desc;
	vc_strlcpy(c->name, desc->name, sizeof(c->name));
	vc_strlcpy(c->compatible, desc->compatible ? desc->compatible : "",
		   sizeof(c->compatible));
	c->desc.name = c->name;
	c->desc.compatible = c->compatible;
	vc_strlcpy(c->model, desc->model ? desc->model : "", sizeof(c->model));
	c->desc.model = c->model;
	c->desc.sched = NULL;
	if (!c->desc.hang_timeout)
		c->desc.hang_timeout = VC_SEC(1);
	if (!c->desc.stop_timeout)
		c->desc.stop_timeout = VC_MSEC(100);
	vc_list_init(&c->vcoprocs);
	c->sched_deadline = c->watch_deadline = c->armed = VC_TIME_INF;

	err = -VC_ENOMEM;
	c->lock = vc_os_lock_create();
	if (!c->lock)
		goto out_free;
	c->timer = vc_os_timer_create(vc_coproc_timer_fn, c);
	if (!c->timer)
		goto out_lock;
	/* Not yet visible, but hooks run under the lock all the same. */
	vc_os_lock(c->lock);
	err = vc_sched_instance_init(&c->sched, c, sops);
	vc_os_unlock(c->lock);
	if (err)
		goto out_timer;

	vc_os_lock(fw->lock);
	if (find_locked(fw, c->name)) {
		vc_os_unlock(fw->lock);
		err = -VC_EEXIST;
		goto out_sched;
	}
	c->registered_at = vc_os_now();
	vc_list_add_tail(&c->node, &fw->coprocs);
	vc_os_unlock(fw->lock);
	*out = c;
	return 0;

out_sched:
	vc_os_lock(c->lock);
	sched_deinit(&c->sched);
	vc_os_unlock(c->lock);
out_timer:
	vc_os_timer_destroy(c->timer);
out_lock:
	vc_os_lock_destroy(c->lock);
out_free:
	vc_os_free(c);
	return err;
}

int vc_coproc_unregister(struct vc_coproc *c)
{
	struct vc_fw *fw = c->fw;

	vc_os_lock(fw->lock);
	vc_os_lock(c->lock);
	if (c->nr_vcoprocs) {
		vc_os_unlock(c->lock);
		vc_os_unlock(fw->lock);
		return -VC_EBUSY;
	}
	vc_list_del(&c->node);
	/*
	 * An algorithm may keep the timer ticking with no vcoproc (arinc653's
	 * idle windows).  A callback already past the timer's own bookkeeping
	 * could re-arm it after vc_os_timer_destroy() has disarmed it, and the
	 * timer would be freed while armed.  From here on the callback finds
	 * c dead and returns without re-arming; one that ran before re-armed
	 * at most, and this disarms it.
	 */
	c->dead = true;
	vc_os_timer_disarm(c->timer);
	vc_os_unlock(c->lock);
	vc_os_unlock(fw->lock);

	vc_os_timer_destroy(c->timer); /* waits for a running callback */
	vc_os_lock(c->lock);
	sched_deinit(&c->sched);
	vc_os_unlock(c->lock);
	vc_coproc_inst_params_free(c);
	vc_trace_free(&c->trace);
	vc_os_lock_destroy(c->lock);
	vc_os_free(c);
	return 0;
}

struct vc_coproc *vc_coproc_find(struct vc_fw *fw, const char *name)
{
	struct vc_coproc *c;

	if (!name)
		return NULL;
	vc_os_lock(fw->lock);
	c = find_locked(fw, name);
	vc_os_unlock(fw->lock);
	return c;
}

const char *vc_coproc_name(const struct vc_coproc *c)
{
	return c->name;
}

const char *vc_coproc_compatible(const struct vc_coproc *c)
{
	return c->compatible;
}

const char *vc_coproc_model(const struct vc_coproc *c)
{
	return c->model;
}

void *vc_coproc_pdata(const struct vc_coproc *c)
{
	return c->desc.pdata;
}

const struct vc_coproc_desc *vc_coproc_desc(const struct vc_coproc *c)
{
	return &c->desc;
}

bool vc_coproc_passthrough(const struct vc_coproc *c)
{
	return c->desc.passthrough;
}

unsigned int vc_fw_coprocs(struct vc_fw *fw, struct vc_coproc **arr, unsigned int max)
{
	struct vc_coproc *c;
	unsigned int n = 0;

	vc_os_lock(fw->lock);
	vc_list_for_each_entry(c, &fw->coprocs, struct vc_coproc, node) {
		if (n < max)
			arr[n] = c;
		n++;
	}
	vc_os_unlock(fw->lock);
	return n;
}

unsigned int vc_coproc_vcoprocs(struct vc_coproc *c, struct vc_vcoproc **arr,
				unsigned int max)
{
	struct vc_vcoproc *v;
	unsigned int n = 0;

	vc_os_lock(c->lock);
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		if (n < max)
			arr[n] = v;
		n++;
	}
	vc_os_unlock(c->lock);
	return n;
}
