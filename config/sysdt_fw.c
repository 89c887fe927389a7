// SPDX-License-Identifier: MIT
/*
 * DOC: system device tree - registering the shared coprocessors
 *
 * For each coprocessor of a struct vc_sysconfig, in order:
 *
 *   platform->make()  ->  vc_coproc_register()  ->  platform->attach(c)
 *   ->  vc_coproc_param_set() for each sched-params entry
 *
 * and on the first failure the same steps undone in reverse for
 * everything done so far:
 *
 *   platform->attach(NULL)  ->  vc_coproc_unregister()  ->  platform->destroy()
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "sysdt.h"

struct sysdt_bound {
	const struct sysdt_platform *plat;   /* &own: the caller's array may go */
	struct sysdt_platform own;
	struct vc_sysconfig_coproc cp;       /* what the tree said, kept */
	void *dev;
	struct vc_coproc *coproc;
};

struct sysdt_fw {
	unsigned int nr;
	struct sysdt_bound b[SYSDT_MAX_COPROCS];
};

static const struct sysdt_platform *find_platform(const struct vc_sysconfig_coproc *cp,
						  const struct sysdt_platform *plats,
						  unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (plats[i].compatible && sysdt_is_compatible(cp, plats[i].compatible))
			return &plats[i];
	return NULL;
}

static void algo_names(char *buf, size_t len)
{
	const char *const *a = vc_sched_algos();
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; a[i]; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", a[i]);

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

/* Undo one bound coprocessor: detach, unregister, destroy. */
static void unbind(struct sysdt_bound *b)
{
	if (b->coproc) {
		if (b->plat->attach)
			b->plat->attach(b->dev, NULL);
		(void)vc_coproc_unregister(b->coproc);
		b->coproc = NULL;
	}
	if (b->dev)
		b->plat->destroy(b->dev);
	b->dev = NULL;
}

static int bind_one(struct vc_fw *fw, const struct vc_sysconfig_coproc *cp,
		    const struct sysdt_platform *plats, unsigned int nr_plats, void *opaque,
		    struct sysdt_bound *b, char *err, size_t errlen)
{
	struct vc_coproc_desc desc;
	char msg[SYSDT_ERR_MAX], names[128];
	int r;

	b->plat = find_platform(cp, plats, nr_plats);
	if (!b->plat) {
		snprintf(err, errlen, "%s: property \"compatible\": no platform for \"%s\" in this host",
			 cp->node, cp->compatible);
		return -VC_ENODEV;
	}
	b->own = *b->plat;
	b->plat = &b->own;
	if (cp->sched[0] && !vc_sched_lookup(cp->sched)) {
		algo_names(names, sizeof(names));
		snprintf(err, errlen, "%s: property \"sched\": expected an algorithm (%s), found \"%s\"",
			 cp->shared_node, names, cp->sched);
		return -VC_ENOENT;
	}
	memset(&desc, 0, sizeof(desc));
	msg[0] = '\0';
	r = b->plat->make(opaque, cp, &desc, &b->dev, msg, sizeof(msg));
	if (r) {
		snprintf(err, errlen, "%s: %s", cp->node, msg[0] ? msg : vc_strerror(r));
		b->dev = NULL;
		return r;
	}
	desc.name = cp->name;
	desc.compatible = cp->compatible;
	memcpy(desc.mmio, cp->mmio, sizeof(desc.mmio));
	desc.nr_mmio = cp->nr_mmio;
	memcpy(desc.irqs, cp->irqs, sizeof(desc.irqs));
	desc.nr_irqs = cp->nr_irqs;
	desc.sched = cp->sched[0] ? cp->sched : NULL;
	desc.hang_timeout = cp->hang_timeout;
	desc.stop_timeout = cp->stop_timeout;
	desc.passthrough = cp->passthrough;
	b->cp = *cp;
	r = vc_coproc_register(fw, &desc, &b->coproc);
	if (r) {
		snprintf(err, errlen, "%s: cannot register \"%s\": %s", cp->shared_node, cp->name,
			 r == -VC_EEXIST ? "the name is taken" : vc_strerror(r));
		b->coproc = NULL;
		goto out_unbind;
	}
	if (b->plat->attach)
		b->plat->attach(b->dev, b->coproc);
	for (unsigned int i = 0; i < cp->nr_params; i++) {
		r = vc_coproc_param_set(b->coproc, cp->params[i].key, cp->params[i].val);
		if (r) {
			snprintf(err, errlen, "%s: property \"sched-params\": %s refuses \"%s=%s\": %s",
				 cp->shared_node, vc_coproc_sched_name(b->coproc), cp->params[i].key,
				 cp->params[i].val,
				 r == -VC_ENOENT ? "no such parameter" :
				 r == -VC_EINVAL ? "invalid value" : vc_strerror(r));
			goto out_unbind;
		}
	}
	return 0;

out_unbind:
	unbind(b);
	return r;
}

int sysdt_register(struct vc_fw *fw, const struct vc_sysconfig *cfg,
		   const struct sysdt_platform *plats, unsigned int nr_plats, void *opaque,
		   struct sysdt_fw **out, char *err, size_t errlen)
{
	struct sysdt_fw *sf;
	int r;

	*out = NULL;
	sf = calloc(1, sizeof(*sf));
	if (!sf) {
		snprintf(err, errlen, "out of memory");
		return -VC_ENOMEM;
	}
	for (unsigned int i = 0; i < cfg->nr_coprocs && i < SYSDT_MAX_COPROCS; i++) {
		r = bind_one(fw, &cfg->coproc[i], plats, nr_plats, opaque, &sf->b[i], err, errlen);
		if (r)
			goto out_unregister;
		sf->nr = i + 1;
	}
	*out = sf;
	return 0;

out_unregister:
	sysdt_unregister(sf);
	return r;
}

struct vc_coproc *sysdt_coproc(const struct sysdt_fw *sf, unsigned int i)
{
	return sf && i < sf->nr ? sf->b[i].coproc : NULL;
}

const struct vc_sysconfig_coproc *sysdt_config(const struct sysdt_fw *sf, unsigned int i)
{
	return sf && i < sf->nr ? &sf->b[i].cp : NULL;
}

int sysdt_find_node(const struct sysdt_fw *sf, const char *path)
{
	for (unsigned int i = 0; sf && i < sf->nr; i++)
		if (!strcmp(sf->b[i].cp.node, path))
			return (int)i;
	return -1;
}

void *sysdt_device(const struct sysdt_fw *sf, unsigned int i)
{
	return sf && i < sf->nr ? sf->b[i].dev : NULL;
}

void sysdt_unregister(struct sysdt_fw *sf)
{
	if (!sf)
		return;
	for (unsigned int i = sf->nr; i-- > 0;)
		unbind(&sf->b[i]);
	free(sf);
}
