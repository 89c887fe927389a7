// SPDX-License-Identifier: MIT
/*
 * DOC: domain configuration files - building a domain in a framework
 *
 * domcfg_build() turns a parsed domain file into a framework domain and
 * its vcoprocs, all or nothing (domcfg.h).  Everything is resolved that
 * can be before anything is created (every instance id must name a
 * registered coprocessor); then the domain and its vcoprocs are created in
 * file order, and the first failure destroys the domain, which destroys
 * the vcoprocs already made for it.
 *
 * A key no algorithm has is refused up front (the framework would refuse
 * it too).  A value the algorithm rejects is named by the framework
 * (vc_vcoproc_create()'s @refused), and the message points at it.
 */
#include <stdio.h>
#include <string.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "domcfg.h"

/* "gpu0, gpu1" - the registered coprocessors, for a message. */
static void coproc_names(struct vc_fw *fw, char *buf, size_t len)
{
	struct vc_coproc *arr[16];
	unsigned int n = vc_fw_coprocs(fw, arr, VC_ARRAY_SIZE(arr));
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && i < VC_ARRAY_SIZE(arr); i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", vc_coproc_name(arr[i]));

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
	if (n > VC_ARRAY_SIZE(arr) && o + 6 < len)
		snprintf(buf + o, len - o, ", ...");
	if (!n)
		snprintf(buf, len, "none registered");
}

/* Warn about keys of entry @i that @c's current algorithm does not know. */
static void check_keys(struct domcfg *cfg, unsigned int i, struct vc_vcoproc *v,
		       struct vc_coproc *c)
{
	const struct domcfg_vcoproc *e = &cfg->vcoproc[i];
	struct vc_param known[32];
	unsigned int n = vc_vcoproc_params(v, known, VC_ARRAY_SIZE(known));

	if (n > VC_ARRAY_SIZE(known))
		n = VC_ARRAY_SIZE(known);
	for (unsigned int p = 0; p < e->nr_params; p++) {
		bool found = false;

		for (unsigned int k = 0; k < n && !found; k++)
			found = !strcmp(known[k].key, e->params[p].key);
		if (found)
			continue;
		if (cfg->nr_warnings < DOMCFG_MAX_WARNINGS)
			domcfg_errorf(cfg, e->param_pos[p], cfg->warnings[cfg->nr_warnings],
				      sizeof(cfg->warnings[0]),
				      "warning: %s on %s has no parameter \"%s\"; kept for other algorithms",
				      vc_coproc_sched_name(c), e->instance, e->params[p].key);
		cfg->nr_warnings++;
	}
}

int domcfg_build(struct vc_fw *fw, struct domcfg *cfg, uint32_t domid,
		 const struct vc_iommu *iommu, void *host_dom, struct vc_domain **out,
		 struct vc_vcoproc **vv, char *err, size_t errlen)
{
	struct vc_coproc *cps[DOMCFG_MAX_VCOPROCS];
	struct vc_domain *d;
	char names[256];
	int r;

	*out = NULL;
	for (unsigned int i = 0; i < cfg->nr_vcoprocs; i++) {
		cps[i] = vc_coproc_find(fw, cfg->vcoproc[i].instance);
		if (!cps[i]) {
			coproc_names(fw, names, sizeof(names));
			domcfg_errorf(cfg, cfg->vcoproc[i].pos, err, errlen,
				      "expected a coprocessor instance (%s), found \"%s\"",
				      names, cfg->vcoproc[i].instance);
			return -VC_ENOENT;
		}
		if (vc_coproc_passthrough(cps[i]))
			return domcfg_errorf(cfg, cfg->vcoproc[i].pos, err, errlen,
					     "expected a shared coprocessor, found \"%s\", reserved for "
					     "passthrough (assign it with dtdev, iomem and irqs)",
					     cfg->vcoproc[i].instance);
		for (unsigned int p = 0; p < cfg->vcoproc[i].nr_params; p++)
			if (!vc_sched_vcoproc_key_known(cfg->vcoproc[i].params[p].key))
				return domcfg_errorf(cfg, cfg->vcoproc[i].param_pos[p], err, errlen,
						     "expected a per-vcoproc parameter of some algorithm (docs/schedulers.md), found \"%s\"",
						     cfg->vcoproc[i].params[p].key);
	}

	r = vc_domain_create(fw, domid, cfg->name, iommu, host_dom, &d);
	if (r == -VC_EEXIST)
		domcfg_errorf(cfg, cfg->pos.name, err, errlen, "domain id %u is taken", domid);
	else if (r)
		domcfg_errorf(cfg, cfg->pos.name, err, errlen, "cannot create domain \"%s\": %s",
			      cfg->name, vc_strerror(r));
	if (r)
		return r;

	for (unsigned int i = 0; i < cfg->nr_vcoprocs; i++) {
		const struct domcfg_vcoproc *e = &cfg->vcoproc[i];
		struct vc_vcoproc *v;
		int bad;

		r = vc_vcoproc_create(d, cps[i], e->params, e->nr_params, &v, &bad);
		if (!r) {
			if (vv)
				vv[i] = v;
			check_keys(cfg, i, v, cps[i]);
			continue;
		}
		if (r == -VC_EINVAL && bad >= 0 && (unsigned int)bad < e->nr_params)
			domcfg_errorf(cfg, e->val_pos[bad], err, errlen,
				      "expected a valid value of \"%s\" for %s on %s, found \"%s\"",
				      e->params[bad].key, vc_coproc_sched_name(cps[i]), e->instance,
				      e->params[bad].val);
		else if (r == -VC_ENOSPC)
			domcfg_errorf(cfg, e->pos, err, errlen,
				      "vcoproc on %s refused by %s admission control (the coprocessor cannot promise it that share)",
				      e->instance, vc_coproc_sched_name(cps[i]));
		else
			domcfg_errorf(cfg, e->pos, err, errlen, "cannot create a vcoproc on %s: %s",
				      e->instance, vc_strerror(r));
		goto out_domain;
	}
	*out = d;
	return 0;

out_domain:
	vc_domain_destroy(d); /* and every vcoproc made for it */
	return r;
}
